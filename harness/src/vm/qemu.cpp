#include "vm/qemu.h"

#include <fmt/format.h>

#include <fstream>

#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/text.h"
#include "vm/monitor.h"
#include "vm/registry.h"

namespace kh {
namespace {

using Clock = SteadyClock;

// What was appended to a file since the last call.
class FileTail {
 public:
  explicit FileTail(std::filesystem::path path) : path_(std::move(path)) {}
  std::string read() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return "";
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += chunk.size();
    return chunk;
  }

 private:
  std::filesystem::path path_;
  std::size_t offset_ = 0;
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

// A QEMU process as the monitor sees it: its console.log and records.jsonl
// (file chardevs it writes itself) read as they grow, its exit.
class QemuGuest : public GuestSession {
 public:
  QemuGuest(std::unique_ptr<Child> child, const BootRequest& req)
      : child_(std::move(child)),
        run_dir_(req.run_dir),
        console_file_(req.console == Console::file),
        console_(req.run_dir / "console.log"),
        records_(req.run_dir / "records.jsonl") {}
  GuestOutput read() override {
    GuestOutput out;
    // Asked first: once QEMU is gone, its files are whole.
    out.ended = !child_->running();
    if (console_file_) out.console = console_.read();
    out.records = records_.read();
    return out;
  }
  std::optional<GuestEnd> poll_end() override {
    if (child_->running()) return std::nullopt;
    GuestEnd end;
    end.exit_code = child_->exit_code();
    end.kind = end.exit_code == 0 ? VmExitKind::powered_off : VmExitKind::vm_failed;
    if (end.kind == VmExitKind::vm_failed) end.vm_output = tail_of(run_dir_ / "qemu.log", 300);
    return end;
  }
  void stop() override { child_->kill(); }

 private:
  std::unique_ptr<Child> child_;
  std::filesystem::path run_dir_;
  bool console_file_;  // with Console::terminal the console is the user's
  FileTail console_, records_;
};

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

std::string kernel_cmdline(const BootRequest& req, Accel accel) {
  std::string line = base_cmdline(*req.arch);
  if (accel == Accel::tcg) append_words(line, req.arch->tcg_boot_args);
  append_words(line, req.machine.cmdline);
  return line;
}

std::vector<std::string> qemu_argv(const BootRequest& req, Accel accel) {
  const ArchInfo& a = *req.arch;
  std::string bus(a.virtio_bus);
  std::vector<std::string> v = {std::string(a.qemu_binary), "-machine",
                                std::string(a.qemu_machine)};
  if (!a.qemu_bios.empty()) v.insert(v.end(), {"-bios", std::string(a.qemu_bios)});
  if (accel == Accel::kvm) {
    v.insert(v.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // Multi-threaded TCG: one host thread per vCPU.
    v.insert(v.end(), {"-accel", "tcg,thread=multi", "-cpu", std::string(a.tcg_cpu)});
  }
  v.insert(
      v.end(),
      {"-smp", std::to_string(req.machine.cpus), "-m", std::to_string(req.machine.memory_mb),
       "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-kernel",
       run_relative(req.kernel, req.run_dir), "-initrd", run_relative(req.initrd, req.run_dir)});
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
  v.insert(v.end(), {"-append", kernel_cmdline(req, accel)});
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
  for (std::size_t i = 0; i < req.output_ports.size(); ++i)
    v.insert(v.end(), {"-chardev",
                       fmt::format("file,id=port{},path={}", i + 1,
                                   run_relative(req.run_dir / req.output_ports[i], req.run_dir)),
                       "-device", fmt::format("virtconsole,chardev=port{}", i + 1)});
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

VmExit QemuBackend::attempt(const BootRequest& req, Accel accel, const Deadlines& deadlines,
                            const RecordSink& on_record) {
  std::vector<std::string> argv = qemu_argv(req, accel);
  for (const char* f : {"console.log", "records.jsonl"}) write_file(req.run_dir / f, "");
  for (const auto& f : req.output_ports) write_file(req.run_dir / f, "");

  Command cmd;
  cmd.argv = argv;
  cmd.cwd = req.run_dir;
  if (req.console == Console::terminal)
    cmd.stdio = Stdio::terminal;  // QEMU's own messages go to the terminal too
  else
    cmd.output = req.run_dir / "qemu.log";
  auto start = Clock::now();
  QemuGuest guest(runner_.spawn(cmd), req);
  VmExit out = monitor_guest(guest, deadlines, start, req.on_console, on_record);
  out.accel = accel;
  out.argv = std::move(argv);
  return out;
}

VmExit QemuBackend::run(const BootRequest& req, const RecordSink& on_record) {
  const ArchInfo& a = *req.arch;
  require_qemu(a);
  auto tcg = [&](std::string note) {
    VmExit e = attempt(req, Accel::tcg, deadlines_for(req, Accel::tcg), on_record);
    e.accel_note = std::move(note);
    return e;
  };

  if (accel_mode_ == "tcg") return tcg("TCG requested (--accel tcg)");
  bool native = a.name == host_arch();
  if (accel_mode_ == "kvm") {
    VmExit e = attempt(req, Accel::kvm, deadlines_for(req, Accel::kvm), on_record);
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

  // A short boot deadline: a KVM guest here hangs rather than fails.
  Deadlines kvm = deadlines_for(req, Accel::kvm);
  kvm.boot = std::min<std::chrono::milliseconds>(kKvmProbeDeadline, kvm.boot);
  VmExit k = attempt(req, Accel::kvm, kvm, on_record);
  if (k.kind == VmExitKind::interrupted) return k;
  if (k.boot_seconds >= 0) {
    verdicts_.put(identity, "works", "a KVM guest reached the agent");
    k.accel_note = "KVM: /dev/kvm usable and the guest reached the agent";
    return k;
  }
  std::string why =
      k.kind == VmExitKind::vm_failed
          ? fmt::format("QEMU exited {} under KVM: {}", k.exit_code, k.vm_output.substr(0, 160))
          : fmt::format("no agent within {} s under KVM", kvm.boot.count() / 1000);
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
  VmExit e = attempt(attached, choice.accel, {kNoDeadline, kNoDeadline}, nullptr);
  e.accel_note = std::move(choice.note);
  return e;
}

}  // namespace kh
