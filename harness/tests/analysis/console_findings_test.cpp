#include "analysis/console_findings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace kh {
namespace {

std::string describe(const ConsoleFinding& f) {
  return f.kind + "|" + f.title + "|" + (f.corrupted ? "true" : "false");
}

std::vector<std::string> expected_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Every tests/data/console/<case>.log against <case>.expected, one finding
// per line: "kind|title|corrupted".
TEST(ConsoleFindingsTest, GoldenLogs) {
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::data_path("console"))) {
    if (entry.path().extension() != ".log") continue;
    std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    ConsoleFindings found = parse_console(test::read_data("console/" + name + ".log"));
    std::vector<std::string> got;
    for (const auto& f : found.findings) got.push_back(describe(f));
    EXPECT_EQ(got, expected_lines(test::read_data("console/" + name + ".expected")));
    EXPECT_TRUE(found.booted);
    ++cases;
  }
  EXPECT_GE(cases, 6);
}

// Every golden finding, cut off two lines after it starts (mid-line, as a
// VM killed at that moment leaves it), is marked corrupted. Panics, RCU
// stalls and reboots have no fixed end to miss.
TEST(ConsoleFindingsTest, TruncatedGoldenFindingsAreCorrupted) {
  int cut_cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::data_path("console"))) {
    if (entry.path().extension() != ".log") continue;
    std::string name = entry.path().stem().string();
    std::string log = test::read_data("console/" + name + ".log");
    for (const auto& f : parse_console(log).findings) {
      if (f.kind == "panic" || f.kind == "RCU stall" || f.kind == "reboot" || f.corrupted) continue;
      SCOPED_TRACE(name + ": " + f.title);
      // The offset of line f.line + 2, then half of that line.
      std::size_t pos = 0;
      for (std::size_t n = 1; n < f.line + 2 && pos != std::string::npos; ++n)
        pos = log.find('\n', pos) + 1;
      ASSERT_NE(pos, std::string::npos);
      std::size_t end = log.find('\n', pos);
      std::string cut = log.substr(0, pos + (end - pos) / 2);
      ConsoleFindings r = parse_console(cut);
      ASSERT_FALSE(r.findings.empty());
      EXPECT_EQ(r.findings.back().line, f.line);
      EXPECT_TRUE(r.findings.back().corrupted);
      ++cut_cases;
    }
  }
  EXPECT_GE(cut_cases, 45);
}

// The same finding class gives the same title on x86_64 and arm64:
// lkdtm_<id>_x86_64 and lkdtm_<id>_arm64 agree on their first finding.
// Except where the stacks themselves differ: x86's gcc makes
// lkdtm_HUNG_TASK's schedule() a tail call, so the blocked task's first
// frame of its own is direct_entry there and lkdtm_HUNG_TASK on arm64.
TEST(ConsoleFindingsTest, TitlesAreTheSameOnBothArches) {
  const std::map<std::string, std::pair<std::string, std::string>> differ = {
      {"lkdtm_hung_task",
       {"INFO: task hung in direct_entry", "INFO: task hung in lkdtm_HUNG_TASK"}}};
  int pairs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::data_path("console"))) {
    std::string name = entry.path().filename().string();
    const std::string suffix = "_x86_64.log";
    if (!name.starts_with("lkdtm_") || !name.ends_with(suffix)) continue;
    std::string stem = name.substr(0, name.size() - suffix.size());
    if (!std::filesystem::exists(test::data_path("console/" + stem + "_arm64.log"))) continue;
    SCOPED_TRACE(stem);
    auto x86 = parse_console(test::read_data("console/" + stem + "_x86_64.log")).findings;
    auto arm = parse_console(test::read_data("console/" + stem + "_arm64.log")).findings;
    ASSERT_FALSE(x86.empty());
    ASSERT_FALSE(arm.empty());
    EXPECT_EQ(x86.front().kind, arm.front().kind);
    if (auto it = differ.find(stem); it != differ.end()) {
      EXPECT_EQ(x86.front().title, it->second.first);
      EXPECT_EQ(arm.front().title, it->second.second);
    } else {
      EXPECT_EQ(x86.front().title, arm.front().title);
    }
    ++pairs;
  }
  EXPECT_GE(pairs, 20);
}

TEST(ConsoleFindingsTest, StartTitleForLiveProgress) {
  EXPECT_EQ(finding_start_title("[    5.100000] WARNING: CPU: 0 PID: 28 at "
                                "drivers/misc/lkdtm/bugs.c:92 lkdtm_WARNING+0x1e/0x30\r"),
            "WARNING in lkdtm_WARNING");
  EXPECT_EQ(finding_start_title("Kernel panic - not syncing: dumptest"), "kernel panic: dumptest");
  EXPECT_EQ(finding_start_title("Unable to handle kernel NULL pointer dereference at virtual "
                                "address 0000000000000000"),
            "BUG: kernel NULL pointer dereference");
  EXPECT_EQ(finding_start_title("[    0.000000] Linux version 6.1.192"), "");
  EXPECT_EQ(finding_start_title(""), "");
}

TEST(ConsoleFindingsTest, ASecondBannerIsAnUnexpectedReboot) {
  // A real x86_64 guest that panicked with panic=1 and no -no-reboot.
  std::string log = test::read_data("console/lkdtm_panic_reboot_x86_64.log");
  ConsoleFindings r = parse_console(log);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[1].kind, "reboot");
  // The line of the second "Linux version" banner.
  std::istringstream in(log);
  std::size_t n = 0, banners = 0, second = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.starts_with("Linux version ") && ++banners == 2) second = n;
  }
  EXPECT_EQ(r.findings[1].line, second);
  // One boot is no reboot.
  EXPECT_TRUE(parse_console(log.substr(0, log.find("Linux version", 10))).findings.size() == 1);
}

TEST(ConsoleFindingsTest, ExcerptsRunFromCutHereToTheEndOfTheStack) {
  auto w = parse_console(test::read_data("console/lkdtm_warning_x86_64.log")).findings;
  ASSERT_FALSE(w.empty());
  EXPECT_TRUE(
      w[0].excerpt.starts_with("------------[ cut here ]------------\n"
                               "WARNING: CPU: 0 PID: "))
      << w[0].excerpt;
  EXPECT_NE(w[0].excerpt.find("Call Trace:\n <TASK>\n"), std::string::npos) << w[0].excerpt;
  EXPECT_TRUE(w[0].excerpt.ends_with("---[ end trace 0000000000000000 ]---\n")) << w[0].excerpt;

  // arm64 has no <TASK> markers: the hung task's trace ends at the first
  // line that is no frame; the lock list lockdep prints next is not in it.
  auto h = parse_console(test::read_data("console/lkdtm_hung_task_arm64.log")).findings;
  ASSERT_FALSE(h.empty());
  EXPECT_TRUE(h[0].excerpt.starts_with("INFO: task init:")) << h[0].excerpt;
  EXPECT_NE(h[0].excerpt.find(" lkdtm_HUNG_TASK+0x"), std::string::npos) << h[0].excerpt;
  EXPECT_EQ(h[0].excerpt.find("Showing all locks held"), std::string::npos) << h[0].excerpt;
  EXPECT_FALSE(h[0].corrupted);
}

TEST(ConsoleFindingsTest, CleanBootHasNoFindings) {
  ConsoleFindings r = parse_console(test::read_data("console/clean_boot.log"));
  EXPECT_TRUE(r.booted);
  EXPECT_FALSE(r.panicked);
  EXPECT_TRUE(r.findings.empty());
}

TEST(ConsoleFindingsTest, RealPanicSetsPanickedAndLine) {
  std::string log = test::read_data("console/panic_kill_init.log");
  ConsoleFindings r = parse_console(log);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_TRUE(r.panicked);
  // The finding's line is the "Kernel panic" line, 1-based.
  std::istringstream in(log);
  std::size_t n = 0, panic_line = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find("Kernel panic - not syncing") != std::string::npos) panic_line = n;
  }
  EXPECT_EQ(r.findings[0].line, panic_line);
}

TEST(ConsoleFindingsTest, OopsInsideBugIsOneFindingAndPanicFollows) {
  ConsoleFindings r = parse_console(test::read_data("console/null_deref_oops_panic.log"));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].kind, "BUG");
  EXPECT_EQ(r.findings[1].kind, "panic");
  EXPECT_LT(r.findings[0].line, r.findings[1].line);
  EXPECT_TRUE(r.panicked);
}

TEST(ConsoleFindingsTest, NoBannerMeansNotBooted) {
  ConsoleFindings r =
      parse_console("SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nBooting from ROM..\r\n");
  EXPECT_FALSE(r.booted);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_FALSE(parse_console("").booted);
}

TEST(ConsoleFindingsTest, TimestampsAndCallerIdsAreStripped) {
  ConsoleFindings r = parse_console(
      "[    0.000000] Linux version 6.1.192\n"
      "[   12.000001][    T1] Kernel panic - not syncing: VFS: Unable to mount root fs on "
      "unknown-block(0,0)\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].title,
            "kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)");
  EXPECT_EQ(r.findings[0].line, 2u);
}

TEST(ConsoleFindingsTest, KernelLineAfterUnterminatedUserOutput) {
  ConsoleFindings r = parse_console(
      "iteration 12[   40.100000] ------------[ cut here ]------------\n"
      "[   40.100100] WARNING: CPU: 0 PID: 1 at mm/memcontrol.c:5367 "
      "mem_cgroup_css_free+0x1f/0x40\n"
      "[   40.100200] ---[ end trace 0000000000000000 ]---\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(describe(r.findings[0]), "WARNING|WARNING in mem_cgroup_css_free|false");
}

TEST(ConsoleFindingsTest, WarningWithoutFileStillNamesFunction) {
  ConsoleFindings r = parse_console(
      "WARNING: CPU: 0 PID: 1 at refcount_warn_saturate+0x97/0x110\n---[ end trace 0 ]---\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].title, "WARNING in refcount_warn_saturate");
}

TEST(ConsoleFindingsTest, Kasan) {
  ConsoleFindings r = parse_console(
      "==================================================================\n"
      "BUG: KASAN: use-after-free in mem_cgroup_iter+0x2b1/0x3a0\n"
      "Read of size 8 at addr ffff888004a1c158 by task kswapd0/24\n"
      "Call Trace:\n <TASK>\n dump_stack_lvl+0x33/0x42\n </TASK>\n"
      "The buggy address belongs to the object at ffff888004a1c000\n"
      "==================================================================\n"
      "Disabling lock debugging due to kernel taint\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(describe(r.findings[0]), "KASAN|KASAN: use-after-free in mem_cgroup_iter|false");
  ConsoleFindings cut = parse_console(
      "BUG: KASAN: slab-out-of-bounds in memcg_alloc_slab_cgroups+0x8e/0x130\n"
      "Write of size 8 at addr ffff888004a1c158 by task kharness-agent/211\n");
  ASSERT_EQ(cut.findings.size(), 1u);
  EXPECT_TRUE(cut.findings[0].corrupted);
}

TEST(ConsoleFindingsTest, Lockdep) {
  ConsoleFindings r = parse_console(
      "======================================================\n"
      "WARNING: possible circular locking dependency detected\n"
      "6.1.192 #1 Not tainted\n"
      "------------------------------------------------------\n"
      "kharness-agent/211 is trying to acquire lock:\n"
      "stack backtrace:\n"
      "Call Trace:\n <TASK>\n dump_stack_lvl+0x33/0x42\n </TASK>\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(describe(r.findings[0]),
            "lockdep|lockdep: possible circular locking dependency detected|false");
  // Other "WARNING: " lines that are neither lockdep nor WARN() are not findings.
  EXPECT_TRUE(parse_console("WARNING: some platform message\n").findings.empty());
}

TEST(ConsoleFindingsTest, SoftLockupTakesFunctionFromRip) {
  ConsoleFindings r = parse_console(
      "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kharness-agent:211]\n"
      "Modules linked in:\n"
      "RIP: 0010:mem_cgroup_iter+0x1a1/0x3a0\n"
      "Call Trace:\n <IRQ>\n foo+0x1/0x2\n </IRQ>\n <TASK>\n shrink_node+0x2b1/0x6f0\n </TASK>\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(describe(r.findings[0]), "soft lockup|BUG: soft lockup in mem_cgroup_iter|false");
  // Cut off before its stack: marked.
  ConsoleFindings cut = parse_console("watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [a:1]\n");
  ASSERT_EQ(cut.findings.size(), 1u);
  EXPECT_TRUE(cut.findings[0].corrupted);
}

TEST(ConsoleFindingsTest, RcuStall) {
  ConsoleFindings r = parse_console(
      "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n"
      "rcu: \t0-...!: (2 GPs behind) idle=c1c/0/0x1 softirq=4055/4055 fqs=0\n"
      "rcu: INFO: rcu_sched self-detected stall on CPU\n");
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(describe(r.findings[0]), "RCU stall|INFO: rcu_preempt detected stall|false");
  EXPECT_EQ(r.findings[1].title, "INFO: rcu_sched detected stall");
}

TEST(ConsoleFindingsTest, BugWithoutOopsIsNotCorruptedAtEnd) {
  // "sleeping function called" only dumps a stack: no end marker to wait for.
  ConsoleFindings r = parse_console(
      "BUG: sleeping function called from invalid context at mm/slab.h:723\n"
      "Call Trace:\n <TASK>\n dump_stack_lvl+0x33/0x42\n </TASK>\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(describe(r.findings[0]),
            "BUG|BUG: sleeping function called from invalid context at mm/slab.h|false");
}

TEST(ConsoleFindingsTest, OopsCutOffBeforeEndTraceIsCorrupted) {
  ConsoleFindings r = parse_console(
      "general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 "
      "[#1] PREEMPT SMP KASAN\n"
      "RIP: 0010:css_killed_work_fn+0x55/0x100\n"
      "Call Trace:\n <TASK>\n process_one_work+0x1c4/0x380\n </TASK>\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(describe(r.findings[0]), "Oops|general protection fault in css_killed_work_fn|true");
}

TEST(ConsoleFindingsTest, HungTaskCutInTraceIsCorrupted) {
  std::string log = test::read_data("console/hung_task_cgroup_rmdir.log");
  log.resize(log.find(" kernfs_iop_rmdir"));
  ConsoleFindings r = parse_console(log);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_TRUE(r.findings[0].corrupted);
  EXPECT_EQ(r.findings[0].title, "INFO: task hung in cgroup_kn_lock_live");
}

}  // namespace
}  // namespace kh
