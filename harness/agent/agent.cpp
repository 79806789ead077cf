// agent.cpp — kharness's in-guest agent: /init (PID 1) of the test initramfs.
//
// Mounts the pseudo filesystems, opens the records channel (/dev/hvc0),
// emits "ready", reads /kharness/config.json, mounts the scratch disk, runs
// the workload named there, emits "done", syncs and powers the guest off.
// PID 1 must never exit (the kernel panics), so every path ends in power-off.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "cgroup.h"
#include "workloads.h"

namespace {

constexpr const char* kRecordsDevice = "/dev/hvc0";
constexpr const char* kConfigPath = "/kharness/config.json";
constexpr const char* kScratch = "/mnt/scratch";
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

kh::Config load_config() {
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

// Everything after "ready". Returns true when the workload completed.
bool run(kh::Records& records, const std::string& early_error) {
  try {
    if (!early_error.empty()) kh::fail_setup(early_error);
    const kh::Config cfg = load_config();
    const kh::Workload* workload = kh::find_workload(cfg.workload);
    if (!workload) kh::fail_setup("unknown workload '" + cfg.workload + "'");
    kh::Context ctx{records, cfg, ""};
    if (!cfg.disk.empty()) {
      mount_scratch(cfg.disk);
      ctx.scratch = kScratch;
    }
    workload->run(ctx);
    return true;
  } catch (const kh::AgentError& e) {
    records.error(e.kind(), e.what());
  } catch (const std::exception& e) {
    records.error(kh::ErrorKind::setup, std::string("agent: ") + e.what());
  }
  return false;
}

}  // namespace

int main() {
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

  const bool ok = run(records, early_error);
  records.done(ok);
  ::close(fd);
  power_off();
}
