#include "vm/qemu.h"

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/interrupt.h"
#include "util/lines.h"
#include "vm/registry.h"

namespace kh {
namespace {

using Clock = SteadyClock;

// Reads the complete lines appended to a file since the last call.
class LineTail {
 public:
  explicit LineTail(std::filesystem::path path) : path_(std::move(path)) {}
  template <class F>
  void poll(F&& on_line) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += chunk.size();
    lines_.feed(chunk, on_line);
  }

 private:
  std::filesystem::path path_;
  std::size_t offset_ = 0;
  LineSplitter lines_;
};

std::string tail_of(const std::filesystem::path& p, std::size_t n) {
  std::string s;
  if (!read_file_if_exists(p, s)) return "";
  if (s.size() > n) s = s.substr(s.size() - n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

void require_qemu(const ArchInfo& a) {
  if (find_program(std::string(a.qemu_binary)).empty())
    throw InfraError(fmt::format("{}: not installed (Debian package {}; run harness/setup.sh)",
                                 a.qemu_binary,
                                 a.name == "x86_64" ? "qemu-system-x86" : "qemu-system-arm"));
}

// An attached boot ends when the user ends it.
constexpr std::chrono::milliseconds kNoLimit = std::chrono::hours(24 * 365);

const bool kRegistered =
    register_backend("qemu", [](const BackendDeps& d) -> std::unique_ptr<Backend> {
      return std::make_unique<QemuBackend>(*d.runner, *d.probe, d.cache_dir, d.accel);
    });

}  // namespace

// Files inside the run folder are named relative to it (QEMU runs there).
std::string run_relative(const std::filesystem::path& p, const std::filesystem::path& run_dir) {
  return p.parent_path() == run_dir ? p.filename().string() : p.string();
}

std::string base_cmdline(const ArchInfo& arch) {
  // panic=-1 + -no-reboot: a panicking guest ends QEMU at once instead of
  // hanging until the timeout.
  std::string line = fmt::format("console={} panic=-1 rdinit=/init", arch.console);
  if (!arch.boot_args.empty()) line += fmt::format(" {}", arch.boot_args);
  return line;
}

std::vector<std::string> qemu_argv(const BootRequest& req, Accel accel) {
  const ArchInfo& a = *req.arch;
  std::string bus(a.virtio_bus);
  std::vector<std::string> v = {std::string(a.qemu_binary), "-machine",
                                std::string(a.qemu_machine)};
  if (accel == Accel::kvm) {
    v.insert(v.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // Multi-threaded TCG: one host thread per vCPU.
    v.insert(v.end(), {"-accel", "tcg,thread=multi", "-cpu", std::string(a.tcg_cpu)});
  }
  v.insert(v.end(),
           {"-smp", std::to_string(req.machine.cpus), "-m", std::to_string(req.machine.memory_mb),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-kernel",
            req.kernel.string(), "-initrd", run_relative(req.initrd, req.run_dir)});
  if (int n = req.machine.numa_nodes; n > 1) {
    // One RAM backend per node, vCPUs dealt out in contiguous ranges. The
    // guest sees the topology through ACPI SRAT (x86) or the device tree
    // (arm64); its kernel needs CONFIG_NUMA and the matching firmware table
    // support (a workload's config: fragment).
    int mem = req.machine.memory_mb / n, cpus = req.machine.cpus / n;
    for (int i = 0; i < n; ++i) {
      std::string node = fmt::format("node,nodeid={},memdev=ram{}", i, i);
      if (cpus == 1) node += fmt::format(",cpus={}", i);
      if (cpus > 1) node += fmt::format(",cpus={}-{}", i * cpus, (i + 1) * cpus - 1);
      v.insert(v.end(), {"-object", fmt::format("memory-backend-ram,id=ram{},size={}M", i, mem),
                         "-numa", node});
    }
  }
  std::string cmdline = base_cmdline(a);
  if (!req.machine.cmdline.empty()) cmdline += " " + req.machine.cmdline;
  v.insert(v.end(), {"-append", cmdline});
  if (req.console == Console::file) {
    v.insert(v.end(),
             {"-chardev", "file,id=console,path=console.log", "-serial", "chardev:console"});
  } else {
    // mux=on shares stdio between the serial port and the monitor (-nodefaults
    // dropped the default one): Ctrl-A X quits, Ctrl-A C toggles. signal=off
    // hands Ctrl-C to the guest's shell instead of killing QEMU.
    v.insert(v.end(), {"-chardev", "stdio,id=console,mux=on,signal=off,logfile=console.log",
                       "-serial", "chardev:console", "-mon", "chardev=console,mode=readline"});
  }
  v.insert(v.end(),
           {"-device", "virtio-serial-" + bus, "-chardev", "file,id=records,path=records.jsonl",
            "-device", "virtconsole,chardev=records"});
  for (std::size_t i = 0; i < req.machine.disks.size(); ++i) {
    const auto& d = req.machine.disks[i];
    v.insert(v.end(),
             {"-drive",
              fmt::format("file={},if=none,id=disk{},format=raw", run_relative(d, req.run_dir), i),
              "-device", fmt::format("virtio-blk-{},drive=disk{}", bus, i)});
  }
  return v;
}

QemuBackend::QemuBackend(ProcessRunner& runner, HostProbe& probe, std::filesystem::path cache_dir,
                         std::string accel_mode)
    : runner_(runner),
      probe_(probe),
      verdicts_(cache_dir / "accel.json"),
      accel_mode_(std::move(accel_mode)) {}

VmExit QemuBackend::attempt(const BootRequest& req, Accel accel,
                            std::chrono::milliseconds boot_deadline,
                            std::chrono::milliseconds run_deadline, const RecordSink& on_record) {
  VmExit out;
  out.accel = accel;
  out.boot_limit_seconds = static_cast<double>(boot_deadline.count()) / 1000;
  out.run_limit_seconds = static_cast<double>(run_deadline.count()) / 1000;
  out.argv = qemu_argv(req, accel);
  for (const char* f : {"console.log", "records.jsonl"}) write_file(req.run_dir / f, "");

  Command cmd;
  cmd.argv = out.argv;
  cmd.cwd = req.run_dir;
  if (req.console == Console::terminal)
    cmd.stdio = Stdio::terminal;  // QEMU's own messages go to the terminal too
  else
    cmd.output = req.run_dir / "qemu.log";
  auto start = Clock::now();
  std::unique_ptr<Child> child = runner_.spawn(cmd);

  LineTail records(req.run_dir / "records.jsonl");
  LineTail console(req.run_dir / "console.log");
  bool ready = false;
  Clock::time_point ready_at{};
  auto drain = [&] {
    if (req.on_console && req.console == Console::file)
      console.poll([&](const std::string& line) { req.on_console(line, seconds_since(start)); });
    records.poll([&](const std::string& line) {
      if (!ready && line.find("\"type\":\"ready\"") != std::string::npos) {
        ready = true;
        ready_at = Clock::now();
        out.boot_seconds = seconds_since(start);
      }
      if (on_record) on_record(line);
    });
  };

  for (;;) {
    drain();
    if (!child->running()) {
      drain();
      out.exit_code = child->exit_code();
      out.kind = out.exit_code == 0 ? VmExitKind::powered_off : VmExitKind::vm_failed;
      if (out.kind == VmExitKind::vm_failed) out.vm_output = tail_of(req.run_dir / "qemu.log", 300);
      break;
    }
    if (interrupted()) {
      child->kill();
      out.kind = VmExitKind::interrupted;
      break;
    }
    if (!ready && Clock::now() - start > boot_deadline) {
      child->kill();
      out.kind = VmExitKind::boot_timeout;
      break;
    }
    if (ready && Clock::now() - ready_at > run_deadline) {
      child->kill();
      out.kind = VmExitKind::run_timeout;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  drain();
  out.total_seconds = seconds_since(start);
  return out;
}

VmExit QemuBackend::run(const BootRequest& req, const RecordSink& on_record) {
  const ArchInfo& a = *req.arch;
  require_qemu(a);
  using std::chrono::milliseconds;
  auto scaled = [&](std::chrono::seconds s) {
    return milliseconds(static_cast<long>(static_cast<double>(s.count()) * 1000 * a.tcg_slowdown));
  };
  auto tcg = [&](std::string note) {
    VmExit e =
        attempt(req, Accel::tcg, scaled(req.boot_timeout), scaled(req.run_timeout), on_record);
    e.accel_note = std::move(note);
    return e;
  };

  if (accel_mode_ == "tcg") return tcg("TCG requested (--accel tcg)");
  bool native = a.name == host_arch();
  if (accel_mode_ == "kvm") {
    VmExit e = attempt(req, Accel::kvm, req.boot_timeout, req.run_timeout, on_record);
    e.accel_note = "KVM requested (--accel kvm)";
    return e;
  }
  if (!native) return tcg(fmt::format("TCG: {} guest on a {} host", a.name, host_arch()));
  if (!probe_.kvm_device_usable()) return tcg("TCG: /dev/kvm is absent or not usable");

  std::string identity = probe_.host_identity(std::string(a.qemu_binary));
  if (verdicts_.get(identity) == "broken")
    return tcg(
        "TCG: KVM guests did not reach the agent on this host before (cached verdict; "
        "`kharness doctor --probe-kvm` re-tests)");

  auto kvm_deadline = std::min<milliseconds>(kKvmProbeDeadline, req.boot_timeout);
  VmExit k = attempt(req, Accel::kvm, kvm_deadline, req.run_timeout, on_record);
  if (k.kind == VmExitKind::interrupted) return k;
  if (k.boot_seconds >= 0) {
    verdicts_.put(identity, "works", "a KVM guest reached the agent");
    k.accel_note = "KVM: /dev/kvm usable and the guest reached the agent";
    return k;
  }
  std::string why =
      k.kind == VmExitKind::vm_failed
          ? fmt::format("QEMU exited {} under KVM: {}", k.exit_code, k.vm_output.substr(0, 160))
          : fmt::format("no agent within {} s under KVM", kvm_deadline.count() / 1000);
  VmExit t = tcg(fmt::format("TCG: KVM fell back ({})", why));
  // Only blame KVM when the same kernel does reach the agent under TCG.
  if (t.boot_seconds >= 0) verdicts_.put(identity, "broken", why);
  return t;
}

AccelChoice attached_accel(std::string_view mode, const ArchInfo& arch, HostProbe& probe,
                           const AccelVerdictStore& verdicts) {
  if (mode == "tcg") return {Accel::tcg, "TCG requested (--accel tcg)"};
  if (mode == "kvm") return {Accel::kvm, "KVM requested (--accel kvm)"};
  if (arch.name != host_arch())
    return {Accel::tcg, fmt::format("TCG: {} guest on a {} host", arch.name, host_arch())};
  if (!probe.kvm_device_usable()) return {Accel::tcg, "TCG: /dev/kvm is absent or not usable"};
  std::string verdict = verdicts.get(probe.host_identity(std::string(arch.qemu_binary)));
  if (verdict == "works") return {Accel::kvm, "KVM: KVM guests reached the agent here before"};
  if (verdict == "broken")
    return {Accel::tcg,
            "TCG: KVM guests did not reach the agent on this host before (cached verdict)"};
  return {Accel::tcg,
          "TCG: KVM is untested on this host (`kharness run` tests it; --accel kvm forces it)"};
}

VmExit QemuBackend::attach(const BootRequest& req) {
  require_qemu(*req.arch);
  AccelChoice choice = attached_accel(accel_mode_, *req.arch, probe_, verdicts_);
  BootRequest attached = req;
  attached.console = Console::terminal;
  VmExit e = attempt(attached, choice.accel, kNoLimit, kNoLimit, nullptr);
  e.accel_note = std::move(choice.note);
  return e;
}

}  // namespace kh
