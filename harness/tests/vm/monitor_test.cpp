#include "vm/monitor.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "util/interrupt.h"

namespace kh {
namespace {

using std::chrono::milliseconds;

// What a fake guest delivers on one read().
struct Chunk {
  std::string console, records;
};

// A guest that plays a script: one chunk per read(), then silence. After
// `end_after` reads it has ended by itself as `end` (never, without one);
// stop() ends it at once.
class FakeGuest : public GuestSession {
 public:
  FakeGuest(std::vector<Chunk> chunks, std::optional<GuestEnd> end, std::size_t end_after)
      : chunks_(std::move(chunks)), end_(std::move(end)), end_after_(end_after) {}
  GuestOutput read() override {
    GuestOutput out;
    if (next_ < chunks_.size() && !stopped) {
      out.console = chunks_[next_].console;
      out.records = chunks_[next_].records;
    }
    ++next_;
    out.ended = stopped || (end_ && next_ > chunks_.size());
    return out;
  }
  std::optional<GuestEnd> poll_end() override {
    if (end_ && next_ >= end_after_) return end_;
    return std::nullopt;
  }
  void stop() override {
    ++stops;
    stopped = true;
  }
  int stops = 0;
  bool stopped = false;

 private:
  std::vector<Chunk> chunks_;
  std::optional<GuestEnd> end_;
  std::size_t end_after_;
  std::size_t next_ = 0;
};

const std::string kReady = "{\"type\":\"ready\",\"release\":\"6.1\",\"uptime\":0.5}\n";
const std::string kDone = "{\"type\":\"done\",\"status\":\"ok\"}\n";

GuestEnd powered_off() {
  return {};
}

struct MonitorCase {
  const char* name;
  std::vector<Chunk> chunks;
  std::optional<GuestEnd> end;  // nullopt: runs until stopped
  std::size_t end_after;        // reads before the end shows
  bool interrupt;               // Ctrl-C before the watch starts
  // Expected:
  VmExitKind kind;
  int exit_code;
  bool ready;
  int stops;
  std::vector<std::string> console;
  std::vector<std::string> records;  // types, in order
};

class MonitorTest : public ::testing::TestWithParam<MonitorCase> {
 protected:
  void TearDown() override { set_interrupted_for_test(false); }
};

TEST_P(MonitorTest, WatchesAFakeGuest) {
  const MonitorCase& c = GetParam();
  FakeGuest guest(c.chunks, c.end, c.end_after);
  std::vector<std::string> console, records;
  set_interrupted_for_test(c.interrupt);
  const MonitorTiming timing{milliseconds(5), milliseconds(50), milliseconds(500)};
  const Deadlines deadlines{milliseconds(150), milliseconds(150)};
  VmExit e = monitor_guest(
      guest, deadlines, SteadyClock::now(),
      [&](const std::string& line, double seconds) {
        EXPECT_GE(seconds, 0);
        console.push_back(line);
      },
      [&](const AgentRecord& r) { records.push_back(r.type); }, timing);
  EXPECT_EQ(e.kind, c.kind) << to_string(e.kind);
  EXPECT_EQ(e.exit_code, c.exit_code);
  EXPECT_EQ(e.boot_seconds >= 0, c.ready) << e.boot_seconds;
  EXPECT_EQ(guest.stops, c.stops);
  EXPECT_EQ(console, c.console);
  EXPECT_EQ(records, c.records);
  EXPECT_DOUBLE_EQ(e.boot_limit_seconds, 0.15);
  EXPECT_DOUBLE_EQ(e.run_limit_seconds, 0.15);
  EXPECT_GE(e.total_seconds, 0);
  EXPECT_LT(e.total_seconds, 2) << "a stopped or ended guest is not waited for";
  if (c.kind == VmExitKind::vm_failed) {
    EXPECT_EQ(e.vm_output, "qemu: terminating on signal 9");
  }
}

INSTANTIATE_TEST_SUITE_P(
    FakeGuests, MonitorTest,
    ::testing::Values(
        MonitorCase{"NeverReadyIsABootTimeoutAndTheGuestIsStopped",
                    {{"Linux version 6.1\r\n", ""}},
                    std::nullopt,
                    0,
                    false,
                    VmExitKind::boot_timeout,
                    -1,
                    false,
                    1,
                    {"Linux version 6.1"},
                    {}},
        MonitorCase{"ReadyThenSilentIsARunTimeout",
                    {{"", kReady}},
                    std::nullopt,
                    0,
                    false,
                    VmExitKind::run_timeout,
                    -1,
                    true,
                    1,
                    {},
                    {"ready"}},
        MonitorCase{"PanicMidRunEndsTheGuestWithItsConsoleKept",
                    {{"", kReady},
                     {"Kernel panic - not syncing: Fatal exception\r\n", ""},
                     {"---[ end Kernel panic ]---\r\n", ""}},
                    powered_off(),
                    3,
                    false,
                    VmExitKind::powered_off,
                    0,
                    true,
                    0,
                    {"Kernel panic - not syncing: Fatal exception", "---[ end Kernel panic ]---"},
                    {"ready"}},
        MonitorCase{"OutputSplitAcrossReadsComesInWholeLines",
                    {{"Linux ver", "{\"type\":\"rea"},
                     {"sion 6.1\r", "dy\"}\n{\"type\":\"log\",\"message\":\"x\"}\n{\"ty"},
                     {"\nhalf a li", "pe\":\"done\",\"status\":\"ok\"}\n"},
                     {"ne\r\n", ""}},
                    powered_off(),
                    4,
                    false,
                    VmExitKind::powered_off,
                    0,
                    true,
                    0,
                    {"Linux version 6.1", "half a line"},
                    {"ready", "log", "done"}},
        MonitorCase{"KilledFromOutsideIsAVmFailureWithItsOutput",
                    {{"Linux version 6.1\r\n", kReady}},
                    GuestEnd{VmExitKind::vm_failed, 137, "qemu: terminating on signal 9"},
                    1,
                    false,
                    VmExitKind::vm_failed,
                    137,
                    true,
                    0,
                    {"Linux version 6.1"},
                    {"ready"}},
        MonitorCase{"CtrlCStopsTheGuest",
                    {{"", kReady}},
                    std::nullopt,
                    0,
                    true,
                    VmExitKind::interrupted,
                    -1,
                    true,
                    1,
                    {},
                    {"ready"}},
        MonitorCase{"WhatArrivesAfterTheEndIsDrained",
                    {{"", kReady}, {"reboot: Power down\r\n", ""}, {"", kDone}},
                    powered_off(),
                    1,
                    false,
                    VmExitKind::powered_off,
                    0,
                    true,
                    0,
                    {"reboot: Power down"},
                    {"ready", "done"}},
        MonitorCase{
            "LinesThatAreNoRecordAreNeitherReadyNorPassedOn",
            {{"", "not json\n{\"type\":\"log\",\"message\":\"\\\"type\\\":\\\"ready\\\"\"}\n"}},
            std::nullopt,
            0,
            false,
            VmExitKind::boot_timeout,
            -1,
            false,
            1,
            {},
            {"log"}}),
    [](const ::testing::TestParamInfo<MonitorCase>& p) { return std::string(p.param.name); });

TEST(MonitorDeadlinesTest, TcgScalesByTheArchAndKvmDoesNot) {
  BootRequest req;
  req.arch = find_arch("arm64");
  req.boot_timeout = std::chrono::seconds(30);
  req.run_timeout = std::chrono::seconds(100);
  const double slowdown = req.arch->tcg_slowdown;
  ASSERT_GT(slowdown, 1) << "the table gives arm64 guests more time under TCG";
  Deadlines tcg = deadlines_for(req, Accel::tcg);
  EXPECT_EQ(tcg.boot.count(), static_cast<long>(30000 * slowdown));
  EXPECT_EQ(tcg.run.count(), static_cast<long>(100000 * slowdown));
  Deadlines kvm = deadlines_for(req, Accel::kvm);
  EXPECT_EQ(kvm.boot, milliseconds(30000));
  EXPECT_EQ(kvm.run, milliseconds(100000));
}

}  // namespace
}  // namespace kh
