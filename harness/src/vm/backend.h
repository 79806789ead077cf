// The VM seam: a Backend boots a kernel + initramfs into an Instance and
// reports how it ended. QEMU is one implementation (vm/qemu.h); libvirt
// and the tests' fake register the same way (vm/registry.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analysis/records.h"
#include "core/arch.h"

namespace kh {

enum class Accel { kvm, tcg };
std::string_view to_string(Accel a);

struct MachineSpec {
  int cpus = 2;
  int memory_mb = 512;
  std::vector<std::filesystem::path> disks;  // raw images, become /dev/vda, /dev/vdb...
  std::string cmdline;                       // appended to the base command line
  int numa_nodes = 0;                        // >1: that many nodes, memory and vCPUs split evenly
};

// Where the guest's serial console goes.
enum class Console {
  file,      // console.log in the run folder (every run)
  terminal,  // kharness's stdin/stdout, shared with the VM's monitor (kharness boot)
};

// Each console line as QEMU writes it ("\r" dropped), with the seconds since
// QEMU started; for live progress. Only for Console::file.
using ConsoleSink = std::function<void(const std::string& line, double seconds)>;

struct BootRequest {
  const ArchInfo* arch = nullptr;
  std::filesystem::path kernel;  // absolute
  std::filesystem::path initrd;  // absolute
  MachineSpec machine;
  // console.log and records.jsonl are written here; QEMU runs with this as
  // its working directory and relative paths, so reproduce.sh can replay the
  // same argv in a fresh folder.
  std::filesystem::path run_dir;
  Console console = Console::file;
  // Before TCG scaling (ArchInfo::tcg_slowdown).
  std::chrono::seconds boot_timeout{60};  // start -> agent ready
  std::chrono::seconds run_timeout{600};  // agent ready -> poweroff
  ConsoleSink on_console;                 // may be empty
  // Files in run_dir that further virtio consoles write to, in order:
  // /dev/hvc1, /dev/hvc2, ... in the guest (hvc0 is the agent's records).
  // kharness exec streams the guest command's output through them. The
  // qemu backend only.
  std::vector<std::string> output_ports;
};

enum class VmExitKind {
  powered_off,   // the guest powered off (or panicked: QEMU exits on reboot with -no-reboot)
  boot_timeout,  // no agent ready record in time
  run_timeout,   // ready, but no poweroff in time
  vm_failed,     // QEMU itself failed to start or crashed
  interrupted,   // Ctrl-C / SIGTERM
  host_failed,   // the VM's host went away (a libvirt connection lost): retry elsewhere
};
std::string_view to_string(VmExitKind k);

struct VmExit {
  VmExitKind kind = VmExitKind::vm_failed;
  int exit_code = -1;        // QEMU's
  double boot_seconds = -1;  // start -> ready record; -1 if never
  double total_seconds = 0;
  // What a backend spends around the guest, when it measures it (libvirt:
  // uploads, domain creation and consoles before the guest runs; volume
  // deletion after): -1 when not measured.
  double setup_seconds = -1;
  double teardown_seconds = -1;
  // The limits this boot ran under, after scaling for emulation.
  double boot_limit_seconds = 0;
  double run_limit_seconds = 0;
  Accel accel = Accel::tcg;
  std::string accel_note;         // how the accelerator was chosen
  std::vector<std::string> argv;  // the exact command line of the final attempt
  std::string vm_output;          // QEMU's own stderr (tail), for vm_failed
  std::string host;               // where it ran (a libvirt URI), "" for the local qemu backend
  // Earlier attempts of this run on hosts that failed ("qemu+tcp://h/system:
  // connection lost"): infra, never a result.
  std::vector<std::string> infra_attempts;
};

// Receives each record the agent sent (analysis/records.h), as it
// arrives; a line that is no record (a cut-off one) is not passed on.
using RecordSink = std::function<void(const AgentRecord& record)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Boots and waits for the end. Never leaves a VM running when it returns
  // or throws. Throws InfraError when the backend cannot work at all (no
  // QEMU binary for the arch), Interrupted on Ctrl-C.
  virtual VmExit run(const BootRequest& req, const RecordSink& on_record) = 0;
  // Boots with the guest's console on this terminal (whatever req.console
  // says) and waits, with no timeouts, until the guest powers off or the
  // user quits the VM; on SIGINT/SIGTERM/SIGHUP it kills the VM and returns
  // `interrupted`. Records still go to records.jsonl. Never leaves a VM
  // running; throws like run().
  virtual VmExit attach(const BootRequest& req) = 0;
};

}  // namespace kh
