// Running other programs (make, git, mkfs, QEMU) behind a small interface,
// so tests hand in a fake. Commands are argv vectors, never shell strings.
//
// Every child runs in its own process group (so a terminal Ctrl-C reaches
// only kharness, which then kills the whole group) and with
// PR_SET_PDEATHSIG, so no child outlives a kharness that was SIGKILLed.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kh {

// Where a child's stdin, stdout and stderr go.
enum class Stdio {
  // stdin from /dev/null; stdout and stderr to Command::output (or captured).
  redirected,
  // kharness's own (for `kharness boot` only). When stdin is a terminal whose
  // foreground is kharness, the child's group becomes the foreground
  // (tcsetpgrp) so the keys reach it; the foreground and the terminal's
  // modes are given back when the child ends or is killed.
  terminal,
};

struct Command {
  std::vector<std::string> argv;
  Stdio stdio = Stdio::redirected;
  std::filesystem::path cwd;                             // empty: the current directory
  std::vector<std::pair<std::string, std::string>> env;  // set on top of ours
  // stdout and stderr both go here (truncated first). Empty: captured into
  // ProcessResult::output. Unused with Stdio::terminal.
  std::filesystem::path output;
  std::chrono::milliseconds timeout{0};  // 0: no limit
  std::function<void()> on_tick;         // called about 5 times a second
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed (timeout or interrupt)
  bool timed_out = false;
  bool interrupted = false;
  std::string output;  // only when Command::output was empty
  bool ok() const { return exit_code == 0 && !timed_out && !interrupted; }
};

// A long-lived child (QEMU). Destroying it kills and reaps the group.
class Child {
 public:
  virtual ~Child() = default;
  virtual int pid() const = 0;
  // False once the child exited (and was reaped).
  virtual bool running() = 0;
  // Valid after running() returned false.
  virtual int exit_code() const = 0;
  // SIGKILL to the process group, then reap. Idempotent.
  virtual void kill() = 0;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs to completion, a timeout or an interrupt (util/interrupt.h); on the
  // latter two the group is killed and reaped before returning. Throws
  // InfraError when argv[0] cannot be found.
  virtual ProcessResult run(const Command& cmd) = 0;
  virtual std::unique_ptr<Child> spawn(const Command& cmd) = 0;
};

class RealProcessRunner : public ProcessRunner {
 public:
  ProcessResult run(const Command& cmd) override;
  std::unique_ptr<Child> spawn(const Command& cmd) override;
};

// The absolute path of a program on PATH, or empty.
std::filesystem::path find_program(const std::string& name);

// "a 'b c'": for logs and reproduce.sh. Quotes what a POSIX shell would need.
std::string shell_quote(const std::string& word);
std::string shell_join(const std::vector<std::string>& argv);

// A command's first output line, without trailing blanks ("" for none).
std::string first_line(const std::string& output);

// `git -C repo ARGS...` with `env` added; throws Interrupted(step, or
// "git ARG0") when Ctrl-C stopped it. A git that failed is the caller's
// to judge (ProcessResult::ok()).
ProcessResult run_git(ProcessRunner& runner, const std::filesystem::path& repo,
                      std::vector<std::string> args, const std::string& step = "",
                      std::vector<std::pair<std::string, std::string>> env = {});

}  // namespace kh
