#include "vm/qemu.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "util/files.h"
#include "vm/registry.h"

namespace kh {
namespace {

BootRequest request(const char* arch, const std::filesystem::path& run_dir) {
  BootRequest r;
  r.arch = find_arch(arch);
  r.kernel = "/cache/artifacts/k/bzImage";
  r.initrd = run_dir / "initramfs.cpio";
  r.run_dir = run_dir;
  r.machine.cpus = 2;
  r.machine.memory_mb = 512;
  r.machine.disks = {run_dir / "scratch.img"};
  r.machine.cmdline = "cgroup.memory=nokmem";
  return r;
}

// The value following `flag` (the first occurrence after `from`).
std::string after(const std::vector<std::string>& v, const std::string& flag,
                  std::size_t from = 0) {
  auto it = std::find(v.begin() + static_cast<long>(from), v.end(), flag);
  return it == v.end() || it + 1 == v.end() ? "" : *(it + 1);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(QemuArgvTest, X86UnderTcg) {
  auto v = qemu_argv(request("x86_64", "/r"), Accel::tcg);
  EXPECT_EQ(v[0], "qemu-system-x86_64");
  EXPECT_EQ(after(v, "-machine"), "pc");
  EXPECT_EQ(after(v, "-bios"), "qboot.rom") << "found in QEMU's data folder, by name";
  EXPECT_EQ(after(v, "-accel"), "tcg,thread=multi");
  EXPECT_EQ(after(v, "-cpu"), "max");
  EXPECT_EQ(after(v, "-smp"), "2");
  EXPECT_EQ(after(v, "-m"), "512");
  EXPECT_EQ(after(v, "-kernel"), "/cache/artifacts/k/bzImage");
  EXPECT_EQ(after(v, "-initrd"), "initramfs.cpio");  // relative: reproduce.sh replays it elsewhere
  EXPECT_EQ(after(v, "-append"),
            "console=ttyS0 panic=-1 rdinit=/init no_timer_check noapictimer lpj=10000000 "
            "cgroup.memory=nokmem");
  EXPECT_TRUE(contains(v, "-no-reboot")) << "a panic must end QEMU, not reboot the guest";
  EXPECT_TRUE(contains(v, "-nodefaults"));
  EXPECT_TRUE(contains(v, "virtio-serial-pci"));
  EXPECT_TRUE(contains(v, "virtconsole,chardev=records"));
  EXPECT_TRUE(contains(v, "file,id=records,path=records.jsonl"));
  EXPECT_TRUE(contains(v, "file,id=console,path=console.log"));
  EXPECT_TRUE(contains(v, "file=scratch.img,if=none,id=disk0,format=raw"));
  EXPECT_TRUE(contains(v, "virtio-blk-pci,drive=disk0"));
}

TEST(QemuArgvTest, NumaNodesSplitMemoryAndCpus) {
  BootRequest r = request("arm64", "/r");
  r.machine.cpus = 4;
  r.machine.memory_mb = 1024;
  r.machine.numa_nodes = 2;
  auto v = qemu_argv(r, Accel::tcg);
  EXPECT_EQ(after(v, "-object"), "memory-backend-ram,id=ram0,size=512M");
  EXPECT_TRUE(contains(v, "memory-backend-ram,id=ram1,size=512M"));
  EXPECT_EQ(after(v, "-numa"), "node,nodeid=0,memdev=ram0,cpus=0-1");
  EXPECT_TRUE(contains(v, "node,nodeid=1,memdev=ram1,cpus=2-3"));
  EXPECT_EQ(after(v, "-m"), "1024");  // the total stays the machine's size
  r.machine.numa_nodes = 1;
  EXPECT_FALSE(contains(qemu_argv(r, Accel::tcg), "-numa"));
}

TEST(QemuArgvTest, X86UnderKvmUsesHostCpu) {
  auto v = qemu_argv(request("x86_64", "/r"), Accel::kvm);
  EXPECT_EQ(after(v, "-accel"), "kvm");
  EXPECT_EQ(after(v, "-cpu"), "host");
  EXPECT_EQ(after(v, "-bios"), "qboot.rom");
  // KVM's APIC timer and TSC need none of TCG's calibration shortcuts.
  EXPECT_EQ(after(v, "-append"),
            "console=ttyS0 panic=-1 rdinit=/init no_timer_check cgroup.memory=nokmem");
}

TEST(QemuArgvTest, OutputPortsAreVirtioConsolesAfterTheRecords) {
  auto r = request("x86_64", "/r");
  r.output_ports = {"exec.stdout", "exec.stderr"};
  auto v = qemu_argv(r, Accel::tcg);
  auto at = [&](const std::string& s) { return std::find(v.begin(), v.end(), s) - v.begin(); };
  EXPECT_TRUE(contains(v, "file,id=port1,path=exec.stdout"));
  EXPECT_TRUE(contains(v, "file,id=port2,path=exec.stderr"));
  // Ports number in argv order: records is hvc0, then hvc1, hvc2.
  EXPECT_LT(at("virtconsole,chardev=records"), at("virtconsole,chardev=port1"));
  EXPECT_LT(at("virtconsole,chardev=port1"), at("virtconsole,chardev=port2"));
}

TEST(QemuArgvTest, Arm64UsesVirtMachinePl011AndMmioVirtio) {
  auto v = qemu_argv(request("arm64", "/r"), Accel::tcg);
  EXPECT_EQ(v[0], "qemu-system-aarch64");
  EXPECT_EQ(after(v, "-machine"), "virt");
  EXPECT_EQ(after(v, "-cpu"), "max");
  EXPECT_EQ(after(v, "-append").rfind("console=ttyAMA0 ", 0), 0u);
  EXPECT_FALSE(contains(v, "-bios")) << "virt boots the kernel itself";
  EXPECT_TRUE(contains(v, "virtio-serial-device"));
  EXPECT_TRUE(contains(v, "virtio-blk-device,drive=disk0"));
}

// kharness boot: the serial console on the terminal, shared with the monitor.
void expect_console_on_terminal(const std::vector<std::string>& v) {
  EXPECT_EQ(after(v, "-chardev"), "stdio,id=console,mux=on,signal=off,logfile=console.log")
      << "the console on stdio, muxed with the monitor, Ctrl-C to the guest, a copy on disk";
  EXPECT_EQ(after(v, "-serial"), "chardev:console");
  EXPECT_EQ(after(v, "-mon"), "chardev=console,mode=readline") << "Ctrl-A C reaches the monitor";
  EXPECT_FALSE(contains(v, "file,id=console,path=console.log"));
  EXPECT_TRUE(contains(v, "file,id=records,path=records.jsonl")) << "records stay in the file";
  EXPECT_TRUE(contains(v, "virtconsole,chardev=records"));
  EXPECT_TRUE(contains(v, "-no-reboot")) << "the guest's reboot must end QEMU";
}

TEST(QemuArgvTest, X86ConsoleOnTheTerminal) {
  auto r = request("x86_64", "/r");
  r.console = Console::terminal;
  auto v = qemu_argv(r, Accel::tcg);
  expect_console_on_terminal(v);
  EXPECT_EQ(after(v, "-append"),
            "console=ttyS0 panic=-1 rdinit=/init no_timer_check noapictimer lpj=10000000 "
            "cgroup.memory=nokmem");
  EXPECT_TRUE(contains(v, "virtio-serial-pci"));
}

TEST(QemuArgvTest, Arm64ConsoleOnTheTerminal) {
  auto r = request("arm64", "/r");
  r.console = Console::terminal;
  auto v = qemu_argv(r, Accel::tcg);
  expect_console_on_terminal(v);
  EXPECT_EQ(after(v, "-append").rfind("console=ttyAMA0 ", 0), 0u);
  EXPECT_TRUE(contains(v, "virtio-serial-device"));
}

TEST(QemuArgvTest, PathsOutsideTheRunFolderStayAbsolute) {
  auto r = request("x86_64", "/r");
  r.initrd = "/elsewhere/i.cpio";
  auto v = qemu_argv(r, Accel::tcg);
  EXPECT_EQ(after(v, "-initrd"), "/elsewhere/i.cpio");
}

// A fake QEMU: under TCG it "boots" and writes the agent's records; under
// KVM it behaves like this machine's KVM (hangs, or aborts at once).
class FakeChild : public Child {
 public:
  FakeChild(bool boots, bool abort_at_once, std::filesystem::path dir)
      : boots_(boots), abort_(abort_at_once), dir_(std::move(dir)) {}
  int pid() const override { return 4242; }
  bool running() override {
    if (killed_) return false;
    if (abort_) {
      code_ = 134;
      return false;
    }
    if (!boots_) return true;  // hangs until killed
    write_file(dir_ / "console.log",
               "Linux version 6.1\r\nWARNING: CPU: 0 PID: 1 at f.c:1 f+0x1/0x2\r\nhalf a li");
    write_file(dir_ / "records.jsonl",
               "{\"type\":\"ready\",\"release\":\"6.1\",\"uptime\":0.5}\n{\"type\":\"done\","
               "\"status\":\"ok\"}\n");
    code_ = 0;
    return false;
  }
  int exit_code() const override { return code_; }
  void kill() override { killed_ = true; }
  bool killed_ = false;

 private:
  bool boots_, abort_;
  std::filesystem::path dir_;
  int code_ = -1;
};

class FakeRunner : public ProcessRunner {
 public:
  bool kvm_aborts = false;
  std::vector<std::vector<std::string>> spawned;
  std::vector<Stdio> stdio;
  ProcessResult run(const Command&) override { return {}; }
  std::unique_ptr<Child> spawn(const Command& cmd) override {
    spawned.push_back(cmd.argv);
    stdio.push_back(cmd.stdio);
    bool kvm = std::find(cmd.argv.begin(), cmd.argv.end(), "kvm") != cmd.argv.end();
    return std::make_unique<FakeChild>(!kvm, kvm && kvm_aborts, cmd.cwd);
  }
};

class FakeProbe : public HostProbe {
 public:
  bool kvm = true;
  bool kvm_device_usable() override { return kvm; }
  std::string host_identity(const std::string&) override { return "fakehost"; }
};

class QemuBackendTest : public ::testing::Test {
 protected:
  ScopedTempDir tmp{"qemu-test"};
  FakeRunner runner;
  FakeProbe probe;
  BootRequest req() {
    auto r = request(std::string(host_arch()) == "arm64" ? "arm64" : "x86_64", tmp.path());
    r.boot_timeout = std::chrono::seconds(2);
    r.run_timeout = std::chrono::seconds(5);
    return r;
  }
};

TEST_F(QemuBackendTest, HangingKvmFallsBackToTcgAndIsRemembered) {
  QemuBackend b(runner, probe, tmp.path(), "auto");
  std::vector<std::string> records;
  VmExit e = b.run(req(), [&](const AgentRecord& r) { records.push_back(r.type); });
  EXPECT_EQ(e.kind, VmExitKind::powered_off);
  EXPECT_EQ(e.accel, Accel::tcg);
  EXPECT_NE(e.accel_note.find("KVM fell back"), std::string::npos) << e.accel_note;
  EXPECT_GE(e.boot_seconds, 0);
  ASSERT_EQ(runner.spawned.size(), 2u);  // KVM attempt, then TCG
  EXPECT_EQ(records, (std::vector<std::string>{"ready", "done"}));
  EXPECT_EQ(AccelVerdictStore(tmp.path() / "accel.json").get("fakehost"), "broken");

  // The next run goes straight to TCG.
  runner.spawned.clear();
  VmExit again = b.run(req(), nullptr);
  EXPECT_EQ(again.accel, Accel::tcg);
  EXPECT_EQ(runner.spawned.size(), 1u);
  EXPECT_NE(again.accel_note.find("cached verdict"), std::string::npos) << again.accel_note;
}

TEST_F(QemuBackendTest, ConsoleLinesReachTheSinkWithoutCarriageReturns) {
  probe.kvm = false;
  QemuBackend b(runner, probe, tmp.path(), "auto");
  auto r = req();
  std::vector<std::string> lines;
  double last_seconds = -1;
  r.on_console = [&](const std::string& line, double seconds) {
    lines.push_back(line);
    last_seconds = seconds;
  };
  b.run(r, nullptr);
  // Whole lines only: the unterminated last one is not a line yet.
  EXPECT_EQ(lines, (std::vector<std::string>{"Linux version 6.1",
                                             "WARNING: CPU: 0 PID: 1 at f.c:1 f+0x1/0x2"}));
  EXPECT_GE(last_seconds, 0);
}

TEST_F(QemuBackendTest, AbortingKvmFallsBackAtOnce) {
  runner.kvm_aborts = true;
  QemuBackend b(runner, probe, tmp.path(), "auto");
  VmExit e = b.run(req(), nullptr);
  EXPECT_EQ(e.accel, Accel::tcg);
  EXPECT_NE(e.accel_note.find("QEMU exited 134"), std::string::npos) << e.accel_note;
}

TEST_F(QemuBackendTest, TcgLimitsAreScaledForTheArchAndRecorded) {
  probe.kvm = false;
  QemuBackend b(runner, probe, tmp.path(), "auto");
  auto r = req();
  r.arch = find_arch("arm64");  // tcg_slowdown 2 in the table
  r.boot_timeout = std::chrono::seconds(30);
  r.run_timeout = std::chrono::seconds(100);
  VmExit e = b.run(r, nullptr);
  EXPECT_DOUBLE_EQ(e.boot_limit_seconds, 30 * find_arch("arm64")->tcg_slowdown);
  EXPECT_DOUBLE_EQ(e.run_limit_seconds, 100 * find_arch("arm64")->tcg_slowdown);
}

TEST_F(QemuBackendTest, NoKvmDeviceMeansTcgWithoutTrying) {
  probe.kvm = false;
  QemuBackend b(runner, probe, tmp.path(), "auto");
  VmExit e = b.run(req(), nullptr);
  EXPECT_EQ(e.accel, Accel::tcg);
  EXPECT_EQ(runner.spawned.size(), 1u);
  EXPECT_NE(e.accel_note.find("/dev/kvm"), std::string::npos);
}

TEST_F(QemuBackendTest, BootTimeoutKillsTheGuest) {
  QemuBackend b(runner, probe, tmp.path(), "kvm");  // forced KVM hangs in the fake
  auto r = req();
  r.boot_timeout = std::chrono::seconds(1);
  VmExit e = b.run(r, nullptr);
  EXPECT_EQ(e.kind, VmExitKind::boot_timeout);
  EXPECT_LT(e.total_seconds, 3);
  EXPECT_DOUBLE_EQ(e.boot_limit_seconds, 1);
}

TEST_F(QemuBackendTest, AttachPutsTheConsoleOnTheTerminalWithoutTimeouts) {
  probe.kvm = false;
  QemuBackend b(runner, probe, tmp.path(), "auto");
  auto r = req();
  r.boot_timeout = std::chrono::seconds(0);  // attach ignores them
  r.run_timeout = std::chrono::seconds(0);
  VmExit e = b.attach(r);
  EXPECT_EQ(e.kind, VmExitKind::powered_off);
  ASSERT_EQ(runner.spawned.size(), 1u);
  EXPECT_EQ(runner.stdio[0], Stdio::terminal);
  EXPECT_EQ(after(runner.spawned[0], "-serial"), "chardev:console");
  EXPECT_EQ(after(runner.spawned[0], "-mon"), "chardev=console,mode=readline");
}

TEST_F(QemuBackendTest, AttachNeverTriesKvmWhenItIsUntested) {
  QemuBackend b(runner, probe, tmp.path(), "auto");  // KVM hangs in the fake
  VmExit e = b.attach(req());
  EXPECT_EQ(e.accel, Accel::tcg);
  EXPECT_EQ(runner.spawned.size(), 1u) << "no trial boot in front of the user";
  EXPECT_NE(e.accel_note.find("untested"), std::string::npos) << e.accel_note;
}

TEST_F(QemuBackendTest, RunsStillRedirectTheirOutput) {
  probe.kvm = false;
  QemuBackend b(runner, probe, tmp.path(), "auto");
  b.run(req(), nullptr);
  ASSERT_EQ(runner.stdio.size(), 1u);
  EXPECT_EQ(runner.stdio[0], Stdio::redirected);
}

class AttachedAccelTest : public ::testing::Test {
 protected:
  ScopedTempDir tmp{"accel-test"};
  FakeProbe probe;
  AccelVerdictStore verdicts{tmp.path() / "accel.json"};
  const ArchInfo& native = *find_arch(host_arch());
  const ArchInfo& foreign = *find_arch(host_arch() == "arm64" ? "x86_64" : "arm64");
};

TEST_F(AttachedAccelTest, KvmOnlyWhenKnownToWork) {
  EXPECT_EQ(attached_accel("auto", native, probe, verdicts).accel, Accel::tcg) << "untested";
  verdicts.put("fakehost", "broken", "hung");
  EXPECT_EQ(attached_accel("auto", native, probe, verdicts).accel, Accel::tcg);
  verdicts.put("fakehost", "works", "reached the agent");
  EXPECT_EQ(attached_accel("auto", native, probe, verdicts).accel, Accel::kvm);
  probe.kvm = false;
  EXPECT_EQ(attached_accel("auto", native, probe, verdicts).accel, Accel::tcg);
}

TEST_F(AttachedAccelTest, ForeignArchIsTcgAndModesAreObeyed) {
  verdicts.put("fakehost", "works", "reached the agent");
  EXPECT_EQ(attached_accel("auto", foreign, probe, verdicts).accel, Accel::tcg);
  EXPECT_EQ(attached_accel("tcg", native, probe, verdicts).accel, Accel::tcg);
  verdicts.put("fakehost", "broken", "hung");
  EXPECT_EQ(attached_accel("kvm", native, probe, verdicts).accel, Accel::kvm);
}

TEST(RegistryTest, QemuIsRegisteredAndUnknownNamesAreErrors) {
  auto names = backend_names();
  EXPECT_TRUE(std::find(names.begin(), names.end(), "qemu") != names.end());
  EXPECT_ANY_THROW(create_backend("vmware", BackendDeps{}));
}

}  // namespace
}  // namespace kh

namespace kh {
namespace {

TEST(HostProbeTest, IdentityNamesTheHostAndQemuAndIsAskedOnce) {
  RealHostProbe probe;
  std::string first = probe.host_identity("qemu-system-x86_64");
  EXPECT_NE(first.find("QEMU emulator version"), std::string::npos) << first;
  EXPECT_EQ(probe.host_identity("qemu-system-x86_64"), first);
  EXPECT_NE(probe.host_identity("kharness-no-such-qemu").find("(no kharness-no-such-qemu)"),
            std::string::npos);
}

}  // namespace
}  // namespace kh
