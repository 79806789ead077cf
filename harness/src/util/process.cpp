#include "util/process.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/error.h"
#include "util/interrupt.h"

namespace bp = boost::process;

namespace kh {
namespace {

// Runs in the child between fork and exec.
struct DieWithParent : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
};

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
    if (out_.empty()) {
      char tmpl[] = "/tmp/kharness-out-XXXXXX";
      int fd = ::mkstemp(tmpl);
      if (fd < 0) throw InfraError("cannot create a temporary file in /tmp");
      ::close(fd);
      out_ = tmpl;
      capture_ = true;
    }
    child_ = bp::child(bp::exe = exe.string(), bp::args = args, bp::env = env, bp::start_dir = cwd,
                       bp::std_in < bp::null, (bp::std_out & bp::std_err) > out_.string(), group_,
                       DieWithParent{});
    pid_ = child_.id();
  }
  ~RealChild() override {
    kill();
    if (capture_) std::filesystem::remove(out_);
  }
  int pid() const override { return pid_; }
  bool running() override {
    if (done_) return false;
    std::error_code ec;
    if (child_.running(ec)) return true;
    done_ = true;
    code_ = child_.exit_code();
    // Reap whatever else the child left in its group.
    std::error_code ignore;
    group_.terminate(ignore);
    return false;
  }
  int exit_code() const override { return code_; }
  void kill() override {
    if (done_) return;
    std::error_code ec;
    group_.terminate(ec);
    child_.terminate(ec);
    child_.wait(ec);
    done_ = true;
    code_ = -1;
  }
  std::string captured() const {
    if (!capture_) return {};
    std::ifstream in(out_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  bp::group group_;
  bp::child child_;
  std::filesystem::path out_;
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

}  // namespace kh
