// agent.cpp — kharness's in-guest agent: /init (PID 1) of the test initramfs.
//
// Mounts the pseudo filesystems, opens the records channel (/dev/hvc0),
// emits "ready", reads /kharness/config.json, mounts the scratch disk, runs
// the workload named there, emits "done", syncs and powers the guest off.
// For `kharness boot` the config asks for a shell on the console instead of
// (or after) the workload; the guest powers off when the shell exits. For
// `kharness exec` it names one command instead (exec.cpp): its output goes
// to ports of its own, its exit status comes back as a metric.
// PID 1 must never exit (the kernel panics), so every path ends in power-off.
//
// The same binary is the shell's `poweroff` (a symlink to /init): busybox's
// would only halt an x86 guest without ACPI, and the VM would sit there.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "cgroup.h"
#include "exec.h"
#include "workloads.h"

namespace {

constexpr const char* kRecordsDevice = "/dev/hvc0";
constexpr const char* kConfigPath = "/kharness/config.json";
constexpr const char* kScratch = "/mnt/scratch";
constexpr const char* kSelf = "/init";  // where the image puts the agent
constexpr int kDeviceWaitMs = 5000;

// To the serial console (fd 2), for when there is no records channel.
void console(std::string_view text) {
  std::string line(text);
  line += '\n';
  [[maybe_unused]] const ssize_t n = ::write(2, line.data(), line.size());
}

// Without a power-off driver the kernel turns RB_POWER_OFF into a halt and
// the VM sits there until the host's timeout. On x86 the driver is ACPI, so
// a kernel built without CONFIG_ACPI gets a reboot instead: the host runs
// QEMU with -no-reboot (libvirt: on_reboot=destroy), which ends the VM too.
bool kernel_can_power_off() {
#if defined(__x86_64__) || defined(__i386__)
  return kh::path_exists("/sys/firmware/acpi");
#else
  return true;  // arm64: PSCI
#endif
}

[[noreturn]] void power_off() {
  ::sync();
  ::reboot(kernel_can_power_off() ? RB_POWER_OFF : RB_AUTOBOOT);
  for (;;) ::pause();  // reboot() failed: never return from PID 1
}

// Mounts proc, sysfs, devtmpfs and tmpfs. Returns an error message, or "".
std::string mount_pseudo_filesystems() {
  struct Mount {
    const char* source;
    const char* target;
    const char* fstype;
    unsigned long flags;
    const char* options;
  };
  static constexpr Mount kMounts[] = {
      {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
      {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
      {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
      {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
  };
  std::string error;
  for (const Mount& m : kMounts) {
    if (const int err = kh::make_dir(m.target)) {
      if (error.empty()) error = kh::errno_message(std::string("mkdir ") + m.target, err);
      continue;
    }
    if (::mount(m.source, m.target, m.fstype, m.flags, m.options) != 0 && errno != EBUSY) {
      if (error.empty()) {
        error = kh::errno_message(std::string("mount -t ") + m.fstype + " " + m.target, errno);
      }
    }
  }
  return error;
}

// The kernel gives PID 1 /dev/console as fds 0-2 only when the initramfs
// has the node; otherwise open it now that devtmpfs is mounted.
void ensure_console_fds() {
  if (::fcntl(2, F_GETFD) >= 0) return;
  const int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return;
  for (int target = 0; target <= 2; ++target) {
    if (fd != target && ::fcntl(target, F_GETFD) < 0) ::dup2(fd, target);
  }
  if (fd > 2) ::close(fd);
}

// Opens the virtio console in raw mode (no \n -> \r\n), waiting for it to
// probe. Returns -1 when it never appears.
int open_records_channel() {
  if (!kh::wait_for_path(kRecordsDevice, kDeviceWaitMs)) return -1;
  const int fd = ::open(kRecordsDevice, O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  termios tio{};
  if (::tcgetattr(fd, &tio) == 0) {
    ::cfmakeraw(&tio);
    ::tcsetattr(fd, TCSANOW, &tio);
  }
  return fd;
}

double read_uptime() {
  std::string text;
  if (kh::read_file("/proc/uptime", text) != 0) return -1;
  return std::strtod(text.c_str(), nullptr);
}

std::string kernel_release() {
  utsname u{};
  if (::uname(&u) != 0) return "";
  return u.release;
}

kh::Config load_config(kh::ExecSpec& exec) {
  std::string text;
  if (const int err = kh::read_file(kConfigPath, text))
    kh::fail_setup(kh::errno_message(kConfigPath, err));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    kh::fail_setup(std::string(kConfigPath) + ": " + e.what());
  }
  if (!j.is_object()) kh::fail_setup(std::string(kConfigPath) + ": not a JSON object");
  kh::Config cfg;
  const auto workload = j.find("workload");
  if (workload == j.end() || !workload->is_string()) {
    kh::fail_setup(std::string(kConfigPath) + ": \"workload\" must be a string");
  }
  cfg.workload = workload->get<std::string>();
  if (const auto params = j.find("params"); params != j.end() && !params->is_null()) {
    if (!params->is_object())
      kh::fail_setup(std::string(kConfigPath) + ": \"params\" must be an object");
    for (const auto& [key, value] : params->items()) {
      if (!value.is_string()) {
        kh::fail_setup(std::string(kConfigPath) + ": param \"" + key + "\" must be a string");
      }
      cfg.params[key] = value.get<std::string>();
    }
  }
  if (const auto disk = j.find("disk"); disk != j.end() && !disk->is_null()) {
    if (!disk->is_string())
      kh::fail_setup(std::string(kConfigPath) + ": \"disk\" must be a string");
    cfg.disk = disk->get<std::string>();
  }
  if (const auto lru = j.find("lru_gen"); lru != j.end() && !lru->is_null()) {
    if (*lru != "on" && *lru != "off")
      kh::fail_setup(std::string(kConfigPath) + ": \"lru_gen\" must be \"on\" or \"off\"");
    cfg.lru_gen = lru->get<std::string>();
  }
  if (const auto shell = j.find("shell"); shell != j.end() && !shell->is_null()) {
    if (*shell == "instead") {
      cfg.shell = kh::Shell::instead;
    } else if (*shell == "after") {
      cfg.shell = kh::Shell::after;
    } else {
      kh::fail_setup(std::string(kConfigPath) + ": \"shell\" must be \"instead\" or \"after\"");
    }
  }
  kh::parse_exec(j, exec);
  return cfg;
}

void mount_scratch(const std::string& disk) {
  if (!kh::wait_for_path(disk, kDeviceWaitMs)) kh::fail_setup(disk + ": no such device after 5 s");
  if (const int err = kh::make_dir("/mnt")) kh::fail_setup(kh::errno_message("mkdir /mnt", err));
  if (const int err = kh::make_dir(kScratch))
    kh::fail_setup(kh::errno_message("mkdir /mnt/scratch", err));
  if (::mount(disk.c_str(), kScratch, "ext4", MS_NOATIME, nullptr) != 0) {
    kh::fail_setup(kh::errno_message("mount -t ext4 " + disk + " " + kScratch, errno));
  }
}

// MGLRU: switches /sys/kernel/mm/lru_gen/enabled as the config asks, and
// reports what the kernel then says as metric lru_gen_enabled (its bit mask:
// 0 off, 0x1 base, 0x2 page-table walks, 0x4 clearing the accessed bit in
// non-leaf PMDs), whether or not the config asked. A kernel without the
// file (CONFIG_LRU_GEN off, or a tree without MGLRU) cannot honour a
// request: unsupported, so the host skips the run naming it.
void apply_lru_gen(kh::Records& records, const std::string& want) {
  static const char* const kEnabled = "/sys/kernel/mm/lru_gen/enabled";
  std::string text;
  const bool have = kh::read_file(kEnabled, text) == 0;
  if (!want.empty()) {
    if (!have)
      kh::fail_unsupported(std::string("MGLRU is not in this kernel (") + kEnabled +
                           " absent: CONFIG_LRU_GEN off or not in this tree); lru_gen: " + want +
                           " needs it");
    if (const int err = kh::write_file(kEnabled, want == "on" ? "y" : "n"))
      kh::fail_setup(kh::errno_message(std::string("write ") + kEnabled, err));
    kh::read_file(kEnabled, text);
  }
  if (have) records.metric("lru_gen_enabled", static_cast<double>(std::strtoul(text.c_str(), nullptr, 0)));
}

void prepare_shell_tools();

// Everything after "ready" up to "done". Fills `cfg` as soon as the config
// is read (the caller needs its shell mode even when a later step fails).
// Returns true when the workload completed, or was skipped for the shell.
bool run(kh::Records& records, const std::string& early_error, kh::Config& cfg) {
  try {
    if (!early_error.empty()) kh::fail_setup(early_error);
    kh::ExecSpec exec;
    cfg = load_config(exec);
    std::string scratch;
    if (!cfg.disk.empty()) {
      mount_scratch(cfg.disk);
      scratch = kScratch;
    }
    apply_lru_gen(records, cfg.lru_gen);
    if (!exec.argv.empty()) {
      prepare_shell_tools();  // the command may be any busybox applet
      kh::run_exec(records, exec);
      return true;
    }
    if (cfg.shell == kh::Shell::instead) {
      records.log("a shell on the console instead of the workload");
      return true;
    }
    const kh::Workload* workload = kh::find_workload(cfg.workload);
    if (!workload) kh::fail_setup("unknown workload '" + cfg.workload + "'");
    kh::Context ctx{records, cfg, scratch};
    workload->run(ctx);
    return true;
  } catch (const kh::AgentError& e) {
    records.error(e.kind(), e.what());
  } catch (const std::exception& e) {
    records.error(kh::ErrorKind::setup, std::string("agent: ") + e.what());
  }
  return false;
}

// Runs `argv` and waits for it. Returns its wait status, or -1.
int run_and_wait(const char* const argv[]) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// The tty behind /dev/console ("/dev/ttyS0"): a shell needs a real tty to be
// its controlling terminal (job control, Ctrl-C); /dev/console will not do.
std::string console_tty() {
  std::string active;
  if (kh::read_file("/sys/class/tty/console/active", active) == 0) {
    // Space-separated; the last is the one /dev/console writes to.
    while (!active.empty() && (active.back() == '\n' || active.back() == ' ')) active.pop_back();
    const std::string name = active.substr(active.rfind(' ') + 1);
    if (!name.empty() && kh::path_exists("/dev/" + name)) return "/dev/" + name;
  }
  return "/dev/console";
}

// busybox's applets on PATH, and our own `poweroff` in place of busybox's.
// Debian's busybox sh runs its applets before looking at PATH, so the login
// shell also gets an alias to the file.
void prepare_shell_tools() {
  static const char* const kInstall[] = {"/bin/busybox", "--install", "-s", "/bin", nullptr};
  if (run_and_wait(kInstall) != 0) console("kharness-agent: busybox --install failed");
  ::unlink("/bin/poweroff");
  if (::symlink(kSelf, "/bin/poweroff") != 0)
    console(kh::errno_message("kharness-agent: symlink /bin/poweroff", errno));
  const int fd = ::open("/etc/profile", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = fd < 0 ? errno
                         : kh::write_fd(fd,
                                        "# Written by the kharness agent: its poweroff ends the "
                                        "VM,\n# busybox's only halts an x86 guest without ACPI.\n"
                                        "alias poweroff=/bin/poweroff\n");
  if (fd >= 0) ::close(fd);
  if (err) console(kh::errno_message("kharness-agent: write /etc/profile", err));
}

// A login shell on the console tty as a session leader with that tty as its
// controlling terminal. Returns when it exits (reaping orphans meanwhile:
// PID 1 inherits them).
void run_shell() {
  prepare_shell_tools();
  const std::string tty = console_tty();
  console("");
  console(
      "kharness: a shell in the guest. Leave with `poweroff -f` or `exit` (the guest powers "
      "off), or Ctrl-A X (quits QEMU); Ctrl-A C: QEMU monitor.");
  const pid_t pid = ::fork();
  if (pid < 0) {
    console(kh::errno_message("kharness-agent: fork", errno));
    return;
  }
  if (pid == 0) {
    ::setsid();
    // A session leader without a controlling tty acquires the first tty it
    // opens; TIOCSCTTY says so explicitly.
    const int fd = ::open(tty.c_str(), O_RDWR);
    if (fd >= 0) {
      ::ioctl(fd, TIOCSCTTY, 0);
      for (int target = 0; target <= 2; ++target) ::dup2(fd, target);
      if (fd > 2) ::close(fd);
    }
    if (::chdir("/root") != 0 && ::chdir("/") != 0) console("kharness-agent: chdir / failed");
    static const char* const kArgv[] = {"/bin/sh", "-l", nullptr};
    static const char* const kEnv[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root",
                                       "TERM=vt100", "PS1=guest:\\w# ", nullptr};
    ::execve(kArgv[0], const_cast<char* const*>(kArgv), const_cast<char* const*>(kEnv));
    console(kh::errno_message("kharness-agent: exec /bin/sh", errno));
    ::_exit(127);
  }
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, 0);
    if (done == pid || (done < 0 && errno == ECHILD)) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Called as the shell's `poweroff` (any options ignored).
  if (argc > 0 && ::getpid() != 1 && std::string_view(argv[0]).ends_with("poweroff")) power_off();

  std::set_terminate([] {
    console("kharness-agent: terminate called; powering off");
    power_off();
  });

  const std::string early_error = mount_pseudo_filesystems();
  ensure_console_fds();

  const int fd = open_records_channel();
  if (fd < 0) {
    console(std::string("kharness-agent: ") + kRecordsDevice + " did not appear; powering off" +
            (early_error.empty() ? "" : " (" + early_error + ")"));
    power_off();
  }
  kh::Records records(fd);
  records.ready(kernel_release(), read_uptime());

  kh::Config cfg;
  const bool ok = run(records, early_error, cfg);
  records.done(ok);
  ::close(fd);
  if (cfg.shell != kh::Shell::none) run_shell();
  power_off();
}
