// The QEMU backend: qemu-system-<arch> driven through the process runner
// with an argv vector. Kernel console -> console.log (serial), agent
// records -> records.jsonl (a virtio console, so kernel messages never
// interleave with them).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/process.h"
#include "vm/accel.h"
#include "vm/backend.h"
#include "vm/monitor.h"

namespace kh {

// The guest kernel command line every run gets (the workload's and the
// kernel's own are appended).
std::string base_cmdline(const ArchInfo& arch);

// The whole command line of a request, for both backends: base_cmdline,
// the arch's TCG boot options under TCG, then the request's own words.
std::string kernel_cmdline(const BootRequest& req, Accel accel);

// Pure: the exact argv for a request under an accelerator. Paths inside
// run_dir are relative (QEMU runs there). With Console::terminal the serial
// port is on stdio, multiplexed with the QEMU monitor (Ctrl-A X quits,
// Ctrl-A C switches to the monitor and back, Ctrl-C goes to the guest), and
// a copy of the console still goes to console.log.
std::vector<std::string> qemu_argv(const BootRequest& req, Accel accel);

struct AccelChoice {
  Accel accel = Accel::tcg;
  std::string note;  // why, for the user
};

// The accelerator for an attached boot (kharness boot), decided without a
// trial boot: a hung KVM guest on the terminal looks just like a slow boot,
// and falling back would boot twice in front of the user. So under "auto"
// KVM only when the cached verdict says KVM guests reach the agent on this
// host (`kharness run` learns it), TCG otherwise.
AccelChoice attached_accel(std::string_view mode, const ArchInfo& arch, HostProbe& probe,
                           const AccelVerdictStore& verdicts);

class QemuBackend : public Backend {
 public:
  // accel_mode: "auto" (KVM if it works here, else TCG), "kvm" or "tcg".
  QemuBackend(ProcessRunner& runner, HostProbe& probe, std::filesystem::path cache_dir,
              std::string accel_mode);
  std::string name() const override { return "qemu"; }
  VmExit run(const BootRequest& req, const RecordSink& on_record) override;
  VmExit attach(const BootRequest& req) override;

 private:
  // One boot under `accel`, watched by the monitor (vm/monitor.h).
  VmExit attempt(const BootRequest& req, Accel accel, const Deadlines& deadlines,
                 const RecordSink& on_record);

  ProcessRunner& runner_;
  HostProbe& probe_;
  AccelVerdictStore verdicts_;
  std::string accel_mode_;
};

}  // namespace kh
