// workload_lkdtm.cpp — make the kernel report something on purpose.
//
// Writes one crash type name to LKDTM's /sys/kernel/debug/provoke-crash/DIRECT,
// or, for the names the kernel-patches/selftest series offers (lockdep,
// bad page state, RCU stall, ...), to /sys/kernel/debug/kharness-selftest/PROVOKE.
// The write happens in a child process: an oops kills the writer, not PID 1
// (a dead init would turn every oops into a panic). The detectors that need
// time (hung task, soft lockup, RCU stall) get short thresholds first, and
// the workload waits long enough for them to fire before its last snapshot.
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "workloads.h"

namespace kh {
namespace {

constexpr const char* kDebugfs = "/sys/kernel/debug";
constexpr const char* kLkdtm = "/sys/kernel/debug/provoke-crash/DIRECT";
constexpr const char* kSelftest = "/sys/kernel/debug/kharness-selftest/PROVOKE";

void mount_debugfs() {
  if (path_exists(std::string(kDebugfs) + "/provoke-crash") ||
      path_exists(std::string(kDebugfs) + "/kharness-selftest"))
    return;
  if (::mount("debugfs", kDebugfs, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0 &&
      errno != EBUSY)
    fail_setup(errno_message(std::string("mount -t debugfs ") + kDebugfs, errno));
}

// Whether `name` is one line of the selftest file's list.
bool selftest_offers(const std::string& name) {
  std::string list;
  if (read_file(kSelftest, list) != 0) return false;
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t nl = list.find('\n', pos);
    if (nl == std::string::npos) nl = list.size();
    if (list.compare(pos, nl - pos, name) == 0) return true;
    pos = nl + 1;
  }
  return false;
}

// Pins the calling process to one CPU (best effort: a one-CPU guest has no
// choice to make).
void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof(set), &set);
}

void set_knob(Context& ctx, const std::string& path, long value) {
  if (const int err = write_file(path, std::to_string(value)))
    fail_setup(errno_message("write " + std::to_string(value) + " to " + path, err));
  ctx.records.log(path + " = " + std::to_string(value));
}

}  // namespace

void run_lkdtm(Context& ctx) {
  const std::string crash = ctx.param("crash", "WARNING");
  const long detect = ctx.param_int("detect_seconds", 2, 1, 60);
  long wait = ctx.param_int("wait_seconds", -1, -1, 3600);
  const std::string cgroup_version = ctx.param("cgroup", "v2");

  const cgroup::Hierarchy h =
      cgroup::mount_memory(cgroup::parse_version(cgroup_version), "kharness");
  mount_debugfs();

  std::string target;
  if (selftest_offers(crash)) {
    target = kSelftest;
  } else if (path_exists(kLkdtm)) {
    target = kLkdtm;
  } else {
    fail_setup("no " + std::string(kLkdtm) + " (a kernel without CONFIG_LKDTM) and '" + crash +
               "' is not a kharness-selftest name");
  }

  // Detectors that need time get short thresholds, and the workload waits
  // for them (wait_seconds -1: as long as the detector needs, with room
  // for slow emulation).
  long auto_wait = 1;
  if (crash == "HUNG_TASK") {
    set_knob(ctx, "/proc/sys/kernel/hung_task_timeout_secs", detect);
    set_knob(ctx, "/proc/sys/kernel/hung_task_check_interval_secs", 1);
    auto_wait = 2 * detect + 6;
  } else if (crash == "SOFTLOCKUP" || crash == "SPINLOCKUP") {
    // The soft-lockup detector fires after twice watchdog_thresh.
    set_knob(ctx, "/proc/sys/kernel/watchdog_thresh", detect);
    // The stuck CPU never comes back: on a one-CPU guest nothing else runs,
    // not even this agent. Panicking on the lockup ends the VM at once,
    // with the report on the console, instead of at the workload timeout.
    set_knob(ctx, "/proc/sys/kernel/softlockup_panic", 1);
    auto_wait = 2 * detect + 6;
  } else if (crash == "RCU_STALL") {
    // 3 is the least RCU accepts; the selftest holds its CPU for 10 s.
    set_knob(ctx, "/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout", 3);
    auto_wait = 14;
  }
  if (wait < 0) wait = auto_wait;

  emit_cgroup_snapshot(ctx.records, "before", h);
  ctx.records.log("provoking " + crash + " via " + target);

  // The writer may never leave the kernel with preemption off (SOFTLOCKUP,
  // RCU_STALL): it gets the last CPU, the agent keeps CPU 0, so the agent's
  // timers and wakeups are never queued behind a CPU that does not schedule.
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus > 1) pin_to_cpu(0);
  const double start = monotonic_seconds();
  const pid_t child = ::fork();
  if (child < 0) fail_setup(errno_message("fork", errno));
  if (child == 0) {
    if (cpus > 1) pin_to_cpu(static_cast<int>(cpus - 1));
    // One write of the bare name; LKDTM strips the newline itself.
    const int err = write_file(target, crash);
    ::_exit(err == 0 ? 0 : (err == EINVAL ? 100 : 101));
  }

  // The writer returns (WARNING, a lockdep splat), dies (an oops kills it),
  // or never comes back (HUNG_TASK, SOFTLOCKUP): wait for it at most
  // `wait` seconds, then for the rest of `wait` for late detectors.
  int status = 0;
  bool reaped = false;
  while (monotonic_seconds() - start < static_cast<double>(wait)) {
    const pid_t r = ::waitpid(child, &status, WNOHANG);
    if (r == child) {
      reaped = true;
      break;
    }
    sleep_ms(50);
  }
  const double writer_seconds = monotonic_seconds() - start;
  if (reaped && WIFEXITED(status) && WEXITSTATUS(status) == 100)
    fail_setup("the kernel does not know crash type '" + crash + "' (" + target + ": EINVAL)");
  if (reaped && WIFEXITED(status) && WEXITSTATUS(status) != 0)
    fail_setup("write " + crash + " to " + target + " failed");
  if (reaped && WIFSIGNALED(status))
    ctx.records.log("the writer was killed by signal " + std::to_string(WTERMSIG(status)) +
                    " (the kernel oopsed in it)");
  if (!reaped) ctx.records.log("the writer is still in the kernel (expected for hangs)");
  while (monotonic_seconds() - start < static_cast<double>(wait)) sleep_ms(100);

  emit_cgroup_snapshot(ctx.records, "after", h);
  ctx.records.metric("writer_returned", reaped ? 1 : 0);
  ctx.records.metric("writer_seconds", writer_seconds);
}

}  // namespace kh
