// workload_programs.cpp — workloads that run programs the host put in the
// image: `script` (a developer's reproducer, run unchanged under bash) and
// `kselftest` (the kernel's own selftests, built from the tree under test).
//
// Both send each program's output back as an "output" record; the host keeps
// it beside the run and, for KTAP, turns every subtest into a case.
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <vector>

#include "workloads.h"

namespace kh {
namespace {

constexpr size_t kMaxOutput = 4u << 20;  // per program; the rest is dropped, and said so
constexpr int kMaxStreamedLines = 200;   // lines also sent as "log" records

struct ProgramRun {
  int exit_status = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved as written
  double seconds = 0;
  pid_t pgid = 0;  // its process group: whatever it left running is still there
};

// The loopback interface up, as on any machine a developer runs tests on
// (test_memcg_sock talks TCP over ::1). Quietly nothing without CONFIG_NET.
void bring_up_loopback(Records& records) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) records.log(errno_message("ifup lo", errno));
  }
  ::close(fd);
}

// busybox's applets on PATH (mkdir, dd, cat, grep, sleep...), as a
// developer's script expects.
void install_applets() {
  static bool done = false;
  if (done) return;
  done = true;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    static const char* const kArgv[] = {"/bin/busybox", "--install", "-s", "/bin", nullptr};
    ::execv(kArgv[0], const_cast<char* const*>(kArgv));
    ::_exit(127);
  }
  int status = 0;
  if (pid > 0) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_setup("busybox --install -s /bin failed");
}

// A pseudo-terminal for the program's stdout and stderr: through a pipe,
// stdio buffers whole blocks, and a test that forks (test_memcontrol,
// test_kmem) then prints every buffered result line once per child. On a
// tty stdout is line-buffered, as when a developer runs it by hand.
// Returns {master, slave}; the slave is raw (no \r\n).
std::pair<int, int> open_pty() {
  if (!path_exists("/dev/pts/ptmx")) {
    if (const int err = make_dir("/dev/pts")) fail_setup(errno_message("mkdir /dev/pts", err));
    if (::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666") !=
            0 &&
        errno != EBUSY)
      fail_setup(errno_message("mount -t devpts /dev/pts", errno));
  }
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail_setup(errno_message("posix_openpt", errno));
  if (::grantpt(master) != 0 || ::unlockpt(master) != 0)
    fail_setup(errno_message("unlockpt", errno));
  const char* name = ::ptsname(master);
  const int slave = name ? ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
  if (slave < 0)
    fail_setup(errno_message(std::string("open ") + (name ? name : "pty slave"), errno));
  termios tio{};
  if (::tcgetattr(slave, &tio) == 0) {
    ::cfmakeraw(&tio);
    ::tcsetattr(slave, TCSANOW, &tio);
  }
  return {master, slave};
}

// Runs argv in its own session (so a timeout or the end can kill everything
// it started) with `cwd`, stdin from /dev/null and stdout+stderr captured
// through a pty that is not its controlling terminal (so the session
// leader's exit sends no SIGHUP to the background jobs it left).
// Returns when the program itself exits or times out; children it left in
// the background keep running until kill_group().
// `on_tick` runs about every 100 ms while the program does (sampling).
ProgramRun run_program(Records& records, const std::vector<std::string>& argv,
                       const std::string& cwd, double timeout_seconds, std::string_view label,
                       const std::function<void()>& on_tick = {}) {
  const auto [master, slave] = open_pty();
  const int fds[2] = {master, slave};
  const double start = monotonic_seconds();
  const pid_t pid = ::fork();
  if (pid < 0) fail_setup(errno_message("fork", errno));
  if (pid == 0) {
    prepare_child(fds[1], fds[1], cwd);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    static const char* const kEnv[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root",
                                       "TERM=dumb", "LANG=C", nullptr};
    ::execve(args[0], args.data(), const_cast<char* const*>(kEnv));
    const std::string msg = errno_message("exec " + argv[0], errno) + "\n";
    [[maybe_unused]] ssize_t n = ::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);

  ProgramRun run;
  run.pgid = pid;
  std::string pending;  // the part of a line not yet streamed
  int streamed = 0;
  bool truncated = false;
  auto take = [&](const char* data, size_t n) {
    if (run.output.size() < kMaxOutput) {
      run.output.append(data, std::min(n, kMaxOutput - run.output.size()));
    } else {
      truncated = true;
    }
    pending.append(data, n);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      if (streamed < kMaxStreamedLines)
        records.log(std::string(label) + ": " + pending.substr(0, nl));
      ++streamed;
      pending.erase(0, nl + 1);
    }
  };
  auto drain = [&] {
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        take(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n == 0 || (n < 0 && errno == EIO);  // EOF; EIO: no slave left open
    }
  };

  int status = 0;
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, 100);
    drain();
    if (on_tick) on_tick();
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (monotonic_seconds() - start > timeout_seconds) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
  }
  drain();
  ::close(fds[0]);
  if (!pending.empty() && streamed < kMaxStreamedLines)
    records.log(std::string(label) + ": " + pending);
  if (streamed > kMaxStreamedLines)
    records.log(std::string(label) + ": " + std::to_string(streamed - kMaxStreamedLines) +
                " more lines in its output record");
  if (truncated) run.output += "\n[kharness: output cut at 4 MiB]\n";
  run.seconds = monotonic_seconds() - start;
  run.exit_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                          : -1;
  return run;
}

// Kills what the program left running in its session (background jobs) and
// reaps everything: as PID 1 we inherit the orphans.
void kill_group(pid_t pgid) {
  if (pgid > 0) ::kill(-pgid, SIGKILL);
  for (int tries = 0; tries < 50; ++tries) {
    const pid_t done = ::waitpid(-1, nullptr, WNOHANG);
    if (done > 0) {
      tries = 0;
      continue;
    }
    if (done < 0 && errno == ECHILD) return;
    sleep_ms(20);
  }
}

void emit_output(Records& records, std::string_view name, std::string_view format,
                 const ProgramRun& run) {
  records.emit({{"type", "output"},
                {"name", name},
                {"format", format},
                {"exit_status", run.exit_status},
                {"timed_out", run.timed_out},
                {"seconds", run.seconds},
                {"text", run.output}});
}

// The memory row's num_cgroups in /proc/cgroups (live and dying), or -1.
long proc_cgroups_memory() {
  std::string text;
  if (read_file("/proc/cgroups", text) != 0) return -1;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name;
    long hierarchy = 0, num = -1;
    if (fields >> name >> hierarchy >> num && name == "memory") return num;
  }
  return -1;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

// ---- script ----------------------------------------------------------------
//
// A developer's reproducer as posted: bash runs the file unchanged, in the
// scratch disk's folder, with the memory hierarchy mounted where the script
// expects it (v1: /sys/fs/cgroup/memory, v2: /sys/fs/cgroup).

void run_script(Context& ctx) {
  const std::string script = ctx.param("script", "");
  if (script.empty()) fail_setup("param script: no script given");
  if (!path_exists(script)) fail_setup("param script: " + script + ": not in the image");
  const cgroup::Version version = cgroup::parse_version(ctx.param("cgroup", "v2"));
  const long timeout = ctx.param_int("timeout_seconds", 600, 1, 86400);
  const std::vector<std::string> args = split_words(ctx.param("args", ""));

  install_applets();
  bring_up_loopback(ctx.records);
  const cgroup::Hierarchy h = cgroup::mount_memory(version, "kharness");
  const std::string cwd = ctx.scratch.empty() ? "/tmp" : ctx.scratch;

  emit_cgroup_snapshot(ctx.records, "before", h);
  std::vector<std::string> argv = {"/bin/bash", script};
  argv.insert(argv.end(), args.begin(), args.end());
  ctx.records.log("bash " + script + " in " + cwd);
  // A posted script often cleans up after itself (the cover letter's ends
  // with rm -f of the file that pinned the memcgs), so the "after" snapshot
  // can miss what it showed; the peak of /proc/cgroups, sampled while it
  // runs, does not.
  long peak = proc_cgroups_memory();
  const ProgramRun run = run_program(ctx.records, argv, cwd, static_cast<double>(timeout), "script",
                                     [&] { peak = std::max(peak, proc_cgroups_memory()); });
  peak = std::max(peak, proc_cgroups_memory());
  ctx.records.metric("peak_memory_num_cgroups", static_cast<double>(peak));
  // Before killing what it left running: a kernel stack the script's
  // background sleepers hold is exactly what the kmem script measures.
  emit_cgroup_snapshot(ctx.records, "after", h);
  kill_group(run.pgid);
  // The host derives script.exit_status, .timed_out and .seconds from it.
  emit_output(ctx.records, "script", "text", run);
}

// ---- kselftest ---------------------------------------------------------------
//
// The tree's own tools/testing/selftests/<target>, built statically by the
// host and put at /kharness/selftests/<target>/. Each program runs with a
// timeout in the scratch disk's folder (test_memcontrol makes O_TMPFILE files
// in its working directory, which tmpfs-backed / would not charge the same
// way); its KTAP output goes back whole.

void run_kselftest(Context& ctx) {
  // kselftest-<target>: the host built tools/testing/selftests/<target>.
  std::string target = ctx.config.workload;
  if (target.rfind("kselftest-", 0) == 0) target.erase(0, 10);
  const std::vector<std::string> tests =
      split_words(ctx.param("tests", "test_core test_memcontrol test_kmem"));
  const long timeout = ctx.param_int("timeout_seconds", 300, 1, 86400);
  const std::string dir = "/kharness/selftests/" + target;
  if (!path_exists(dir)) fail_setup(dir + ": the host put no selftests in the image");
  if (tests.empty()) fail_setup("param tests: empty");

  install_applets();
  bring_up_loopback(ctx.records);
  const cgroup::Hierarchy h = cgroup::mount_memory(cgroup::Version::v2, "kharness");
  const std::string cwd = ctx.scratch.empty() ? "/tmp" : ctx.scratch;
  emit_cgroup_snapshot(ctx.records, "before", h);
  for (const std::string& test : tests) {
    const std::string path = dir + "/" + test;
    if (!path_exists(path)) fail_setup(path + ": not built (is it in the target's Makefile?)");
    ctx.records.log("running " + test);
    const ProgramRun run =
        run_program(ctx.records, {path}, cwd, static_cast<double>(timeout), test);
    kill_group(run.pgid);
    emit_output(ctx.records, test, "ktap", run);
  }
  emit_cgroup_snapshot(ctx.records, "after", h);
}

}  // namespace kh
