// The watch over a running guest that every backend shares, as syzkaller's
// vm/vm.go watches every vmimpl instance: a backend starts its VM and shows
// it to the monitor as a GuestSession (bytes from the serial console and
// the agent's channel, how the guest ended, a way to stop it); the monitor
// splits the bytes into lines, finds the agent's ready record, holds the
// boot and run deadlines, stops the guest at a deadline or Ctrl-C, and
// drains what is still on its way.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "util/clock.h"
#include "vm/backend.h"

namespace kh {

// What a guest's two channels delivered since the last read.
struct GuestOutput {
  std::string console;  // the serial console, raw ("\r\n" and cut lines as they come)
  std::string records;  // the agent's channel, raw
  // Neither channel will deliver more: the guest is gone and what it said
  // has been read (QEMU exited; both libvirt consoles hung up).
  bool ended = false;
};

// How a guest ended by itself.
struct GuestEnd {
  VmExitKind kind = VmExitKind::powered_off;  // powered_off or vm_failed
  int exit_code = 0;
  std::string vm_output;  // vm_failed: what the VM said (the tail of QEMU's stderr)
};

// A running guest as its backend shows it to the monitor.
class GuestSession {
 public:
  virtual ~GuestSession() = default;
  // What arrived since the last call; never blocks.
  virtual GuestOutput read() = 0;
  // How the guest ended, or nullopt while it runs. A backend may throw its
  // own errors (a lost host); they leave the monitor as they are.
  virtual std::optional<GuestEnd> poll_end() = 0;
  // Ends the guest now (a deadline, Ctrl-C). What it said until then stays
  // readable; read() reports ended once nothing more can come.
  virtual void stop() = 0;
};

struct Deadlines {
  std::chrono::milliseconds boot;  // the VM's start -> the agent's ready record
  std::chrono::milliseconds run;   // ready -> the guest's end
};

// An attached boot's: it ends when the user ends it.
inline constexpr std::chrono::milliseconds kNoDeadline = std::chrono::hours(24 * 365);

// The request's deadlines under `accel`: as given under KVM, scaled by the
// arch's tcg_slowdown under TCG (emulation is that much slower).
Deadlines deadlines_for(const BootRequest& req, Accel accel);

// How often the monitor looks, and how long it drains after the end.
struct MonitorTiming {
  std::chrono::milliseconds poll{20};
  // After the end: until both channels ended, or quiet for `quiet`, at
  // most `drain`.
  std::chrono::milliseconds quiet{300};
  std::chrono::milliseconds drain{2000};
};

// Watches `guest`, started at `start`, until it ends by itself, a deadline
// passes or Ctrl-C (util/interrupt.h) arrives; on the latter two it calls
// guest.stop(). Hands each complete console line ("\r" dropped) to
// `on_console` with the seconds since `start`, and each record the agent
// sent (analysis/records.h: parse_record) to `on_record`; either may be
// empty. The first "ready" record starts the run deadline. Returns the
// VmExit's kind, exit_code and vm_output (from GuestEnd), boot_seconds (-1
// without a ready record), total_seconds up to the end of the drain, and
// the limits it ran under; the caller adds the rest.
VmExit monitor_guest(GuestSession& guest, const Deadlines& deadlines, SteadyClock::time_point start,
                     const ConsoleSink& on_console, const RecordSink& on_record,
                     const MonitorTiming& timing = {});

}  // namespace kh
