// kharness exec: boot a kernel, run one command (or a script) in the guest
// with a host folder copied in, stream its output, exit with its status.
// The pure parts, for the tests; the command itself is add_exec.
#pragma once

#include <string>
#include <vector>

#include "analysis/records.h"
#include "vm/backend.h"

namespace kh::cli {

struct ExecArgs {
  std::string job;    // --job: a job file; "" for the built-in default job
  std::string tree;   // --tree: a kernel source tree, built first
  std::string image;  // --image: boot this kernel image instead
  std::string kernel, arch;
  std::string dir;     // --dir: a host folder copied to kGuestDir
  std::string script;  // --script: a host file run instead of a command
  std::vector<std::string> command;
  std::string append;  // more kernel command line
  std::string out;     // keep the guest's files here
  std::string accel = "auto";
  int timeout = 600;  // seconds for the command, after the boot
  int cpus = 2;
  int memory_mb = 512;
  bool console = false;  // the kernel console on stderr as it comes
};

// Where things are in the guest.
inline constexpr const char* kGuestDir = "/host";                 // --dir's copy
inline constexpr const char* kGuestScriptDir = "/kharness/exec";  // --script's copy
// The ports the command's stdout and stderr go to, and the files QEMU
// writes them to in the run folder.
inline constexpr const char* kStdoutPort = "/dev/hvc1";
inline constexpr const char* kStderrPort = "/dev/hvc2";
inline constexpr const char* kStdoutFile = "exec.stdout";
inline constexpr const char* kStderrFile = "exec.stderr";

enum class ExecTarget {
  default_job,  // no target: the built-in default job's kernel
  job_file,     // a job file's kernel (--kernel or its first)
  tree,         // a kernel source tree (a git work tree), built first
  image,        // --image
};

// What the arguments ask for. Throws InputError (one line naming the
// option or path) for: no command and no script, both, more than one of
// --job, --tree and --image, a --tree that is not a folder with a Makefile
// and a Kconfig, --kernel without a job, a missing --image, --job, --script
// or --dir, a non-positive --timeout or --cpus, --memory under 64.
ExecTarget check_exec_args(const ExecArgs& a);

// The guest's argv: one command word runs through `/bin/sh -c` (pipes,
// globs, `&&` work); several run as they are, without a shell. A script
// (its guest path) runs directly when it starts with "#!", else with /bin/sh.
std::vector<std::string> guest_command(const std::vector<std::string>& words);
std::vector<std::string> guest_script_command(const std::string& guest_path,
                                              const std::string& script_text);

// The agent's config.json for exec: no workload, the command, its working
// folder and its output ports.
std::string exec_config_json(const std::vector<std::string>& argv, const std::string& cwd);

// How an exec ended.
struct ExecEnding {
  enum class Kind {
    exited,         // the command ran; code is its status (128+N: killed by signal N)
    timed_out,      // --timeout passed: code 124, as timeout(1)
    kernel_report,  // the guest kernel splatted and the command never finished: code 1
    infra,          // no agent, the agent could not run it, QEMU failed: code 3
    interrupted,    // Ctrl-C / SIGTERM: code 130
  };
  Kind kind = Kind::infra;
  int code = 3;
  std::string message;  // for stderr; "" when there is nothing to say
};

// Pure: the ending from how the VM ended, what the agent said and the
// console's first finding title ("" for none). A command that finished
// keeps its status even if the kernel splatted meanwhile (the message says so).
ExecEnding exec_ending(const VmExit& vm, const AgentRecords& records,
                       const std::string& first_finding, int timeout_seconds);

}  // namespace kh::cli
