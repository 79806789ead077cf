#include "vm/monitor.h"

#include <thread>

#include "analysis/records.h"
#include "util/interrupt.h"
#include "util/lines.h"

namespace kh {
namespace {

using Clock = SteadyClock;

double seconds(std::chrono::milliseconds d) {
  return static_cast<double>(d.count()) / 1000;
}

}  // namespace

Deadlines deadlines_for(const BootRequest& req, Accel accel) {
  const double scale = accel == Accel::kvm ? 1.0 : req.arch->tcg_slowdown;
  auto scaled = [&](std::chrono::seconds s) {
    return std::chrono::milliseconds(
        static_cast<long>(static_cast<double>(s.count()) * 1000 * scale));
  };
  return {scaled(req.boot_timeout), scaled(req.run_timeout)};
}

VmExit monitor_guest(GuestSession& guest, const Deadlines& deadlines, Clock::time_point start,
                     const ConsoleSink& on_console, const RecordSink& on_record,
                     const MonitorTiming& timing) {
  VmExit out;
  out.boot_limit_seconds = seconds(deadlines.boot);
  out.run_limit_seconds = seconds(deadlines.run);
  LineSplitter console_lines, record_lines;
  bool ready = false;
  Clock::time_point ready_at{};

  // Hands on what arrived; returns it, for the drain.
  auto take = [&] {
    GuestOutput got = guest.read();
    if (!got.console.empty() && on_console)
      console_lines.feed(got.console,
                         [&](const std::string& line) { on_console(line, seconds_since(start)); });
    record_lines.feed(got.records, [&](const std::string& line) {
      auto record = parse_record(line);
      if (!record) return;
      if (!ready && record->type == "ready") {
        ready = true;
        ready_at = Clock::now();
        out.boot_seconds = seconds_since(start);
      }
      if (on_record) on_record(*record);
    });
    return got;
  };

  for (;;) {
    take();
    if (auto end = guest.poll_end()) {
      out.kind = end->kind;
      out.exit_code = end->exit_code;
      out.vm_output = std::move(end->vm_output);
      break;
    }
    std::optional<VmExitKind> stop;
    if (interrupted())
      stop = VmExitKind::interrupted;
    else if (!ready && Clock::now() - start > deadlines.boot)
      stop = VmExitKind::boot_timeout;
    else if (ready && Clock::now() - ready_at > deadlines.run)
      stop = VmExitKind::run_timeout;
    if (stop) {
      guest.stop();
      out.kind = *stop;
      break;
    }
    std::this_thread::sleep_for(timing.poll);
  }

  // What is on its way still arrives: until the channels end, or stay
  // quiet for a while (a stopped guest says nothing more), within a bound.
  const auto drain_until = Clock::now() + timing.drain;
  auto quiet_since = Clock::now();
  for (;;) {
    GuestOutput got = take();
    if (got.ended) break;
    if (!got.console.empty() || !got.records.empty()) quiet_since = Clock::now();
    if (Clock::now() - quiet_since > timing.quiet || Clock::now() >= drain_until) break;
    std::this_thread::sleep_for(std::min(timing.poll, std::chrono::milliseconds(10)));
  }
  out.total_seconds = seconds_since(start);
  return out;
}

}  // namespace kh
