#include "util/process.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "util/error.h"
#include "util/interrupt.h"

namespace bp = boost::process;

namespace kh {
namespace {

// Runs in the child between fork and exec: a process group of its own
// (the terminal's Ctrl-C reaches only us; we kill the whole group), and
// death with its parent. With `take_terminal` the new group also becomes
// the terminal's foreground before exec, so the child never reads or sets
// modes as a background group (SIGTTIN/SIGTTOU would stop it); the parent
// does the same after fork, whichever runs first.
struct OwnGroupDieWithParent : bp::extend::handler {
  bool take_terminal = false;
  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::setpgid(0, 0);
    if (take_terminal) {
      ::signal(SIGTTOU, SIG_IGN);
      ::tcsetpgrp(STDIN_FILENO, ::getpid());
      ::signal(SIGTTOU, SIG_DFL);
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
};

// The terminal lent to a Stdio::terminal child: who had the foreground and
// in what modes, to give both back however the child ends (QEMU killed in
// raw mode would leave the shell unusable).
class TerminalLease {
 public:
  // Holds nothing unless stdin is a terminal whose foreground is us.
  TerminalLease() {
    held_ = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp() &&
            ::tcgetattr(STDIN_FILENO, &modes_) == 0;
  }
  TerminalLease(const TerminalLease&) = delete;
  TerminalLease& operator=(const TerminalLease&) = delete;
  ~TerminalLease() { give_back(); }
  bool held() const { return held_; }
  void lend_to(pid_t group) const {
    // Setting the foreground from what is about to be a background group
    // raises SIGTTOU unless it is ignored.
    auto old = ::signal(SIGTTOU, SIG_IGN);
    ::tcsetpgrp(STDIN_FILENO, group);
    ::signal(SIGTTOU, old);
  }
  void give_back() {
    if (!held_) return;
    held_ = false;
    auto old = ::signal(SIGTTOU, SIG_IGN);
    ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    ::tcsetattr(STDIN_FILENO, TCSADRAIN, &modes_);
    ::signal(SIGTTOU, old);
  }

 private:
  bool held_ = false;
  termios modes_{};
};

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

class RealChild : public Child {
 public:
  RealChild(const Command& cmd) {
    std::filesystem::path exe = cmd.argv.at(0);
    if (exe.string().find('/') == std::string::npos) exe = find_program(exe.string());
    if (exe.empty() || !std::filesystem::exists(exe))
      throw InfraError(fmt::format("{}: command not found (run harness/setup.sh)", cmd.argv[0]));
    std::vector<std::string> args(cmd.argv.begin() + 1, cmd.argv.end());
    bp::environment env = boost::this_process::environment();
    for (const auto& [k, v] : cmd.env) env[k] = v;
    std::string cwd = cmd.cwd.empty() ? std::filesystem::current_path().string() : cmd.cwd.string();
    out_ = cmd.output;
    if (out_.empty() && cmd.stdio == Stdio::redirected) {
      char tmpl[] = "/tmp/kharness-out-XXXXXX";
      int fd = ::mkstemp(tmpl);
      if (fd < 0) throw InfraError("cannot create a temporary file in /tmp");
      ::close(fd);
      out_ = tmpl;
      capture_ = true;
    }
    bp::child child;
    if (cmd.stdio == Stdio::terminal) {
      lease_.emplace();
      OwnGroupDieWithParent setup;
      setup.take_terminal = lease_->held();
      child = bp::child(bp::exe = exe.string(), bp::args = args, bp::env = env, bp::start_dir = cwd,
                        setup);
      if (lease_->held()) lease_->lend_to(static_cast<pid_t>(child.id()));
    } else {
      child = bp::child(bp::exe = exe.string(), bp::args = args, bp::env = env, bp::start_dir = cwd,
                        bp::std_in<bp::null, (bp::std_out & bp::std_err)> out_.string(),
                        OwnGroupDieWithParent{});
    }
    pid_ = child.id();
    // From here on the pid is ours: waitpid and killpg below, so Boost's
    // bookkeeping never races us for the exit status.
    child.detach();
  }
  ~RealChild() override {
    kill();
    if (capture_) std::filesystem::remove(out_);
  }
  int pid() const override { return pid_; }
  bool running() override {
    if (done_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    done_ = true;
    code_ = r == pid_ ? decode_status(status) : -1;
    // Whatever the child left running in its group goes with it.
    ::killpg(pid_, SIGKILL);
    if (lease_) lease_->give_back();
    return false;
  }
  int exit_code() const override { return code_; }
  void kill() override {
    if (done_) return;
    ::killpg(pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    done_ = true;
    code_ = -1;
    if (lease_) lease_->give_back();
  }
  std::string captured() const {
    if (!capture_) return {};
    std::ifstream in(out_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::filesystem::path out_;
  std::optional<TerminalLease> lease_;  // Stdio::terminal only
  bool capture_ = false;
  bool done_ = false;
  int code_ = -1;
  int pid_ = 0;
};

}  // namespace

ProcessResult RealProcessRunner::run(const Command& cmd) {
  RealChild child(cmd);
  ProcessResult r;
  auto start = std::chrono::steady_clock::now();
  auto last_tick = start;
  while (child.running()) {
    if (interrupted()) {
      child.kill();
      r.interrupted = true;
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (cmd.timeout.count() > 0 && now - start > cmd.timeout) {
      child.kill();
      r.timed_out = true;
      break;
    }
    if (cmd.on_tick && now - last_tick >= std::chrono::milliseconds(200)) {
      cmd.on_tick();
      last_tick = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exit_code = child.exit_code();
  r.output = child.captured();
  return r;
}

std::unique_ptr<Child> RealProcessRunner::spawn(const Command& cmd) {
  return std::make_unique<RealChild>(cmd);
}

std::filesystem::path find_program(const std::string& name) {
  auto p = bp::search_path(name);
  return p.empty() ? std::filesystem::path() : std::filesystem::path(p.string());
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-+=./:,@%") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

std::string first_line(const std::string& output) {
  std::string line = output.substr(0, output.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

ProcessResult run_git(ProcessRunner& runner, const std::filesystem::path& repo,
                      std::vector<std::string> args, const std::string& step,
                      std::vector<std::pair<std::string, std::string>> env) {
  Command cmd;
  cmd.argv = {"git", "-C", repo.string()};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.env = std::move(env);
  ProcessResult r = runner.run(cmd);
  if (r.interrupted) throw Interrupted(step.empty() ? "git " + args.front() : step);
  return r;
}

}  // namespace kh
