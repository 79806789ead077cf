#include "engine/judge.h"

#include <gtest/gtest.h>

#include "util/files.h"

namespace kh {
namespace {

struct Case {
  VmExit vm;
  ConsoleFindings console;
  AgentRecords records;
  std::vector<AssertionResult> assertions;
  Case() {
    vm.kind = VmExitKind::powered_off;
    vm.exit_code = 0;
    console.booted = true;
    records.ready = true;
    records.done = true;
  }
  std::vector<std::string> tolerated;  // the kernel's tolerate: list
  std::vector<TestCase> cases;
  Verdict judge() const {
    ConsoleFindings marked = console;
    mark_tolerated(marked.findings, tolerated);
    return judge_run(vm, marked, records, assertions, cases);
  }
};

TEST(JudgeTest, CleanRunWithHoldingAssertionsPasses) {
  Case c;
  c.assertions = {{"dying_after_loop <= 200", 1, true, ""}};
  EXPECT_EQ(c.judge().outcome, Outcome::pass);
}

TEST(JudgeTest, ABrokenStatisticsInvariantFailsNamingSnapshotFileAndKey) {
  Case c;
  Snapshot s;
  s.name = "after";
  s.meta = {{"cgroup_version", "2"}, {"parent", "/sys/fs/cgroup/kharness"}};
  s.files["/sys/fs/cgroup/kharness/memory.stat"] = "anon 4096\nfile 18446744073709547520\n";
  c.records.snapshots.push_back(s);
  WorkloadSpec spec;
  spec.machine.cpus = 2;
  c.assertions = invariant_results(spec, c.records);
  c.assertions.push_back({"dying_after_loop <= 200", 1, true, ""});
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason,
            "assertion failed: invariant underflow: snapshot 'after', "
            "/sys/fs/cgroup/kharness/memory.stat, key file: 18446744073709547520 is below zero "
            "as a signed 64-bit counter (+1 more)");
  // A workload that opts out (with its reason) is not checked.
  spec.invariants_off = "the script races with its own snapshots";
  EXPECT_TRUE(invariant_results(spec, c.records).empty());
}

TEST(JudgeTest, FailedAssertionFailsAndSaysWhichAndTheValue) {
  Case c;
  c.assertions = {{"a > 0", 1, true, ""}, {"dying_after_loop <= 200", 0, false, ""}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason, "assertion failed: dying_after_loop <= 200 (was 0)");
  c.assertions[1].left = "dying_after_loop";
  c.assertions[1].left_value = 2000;
  EXPECT_EQ(c.judge().reason,
            "assertion failed: dying_after_loop <= 200 (dying_after_loop was 2000)");
}

TEST(JudgeTest, AFailedAssertionNamesUpToThreeFailedCases) {
  Case c;
  c.assertions = {{"kselftest.fail == 0", 0, false, ""}};
  for (const char* name : {"a", "b", "c", "d"}) c.cases.push_back({"test_core", name, "fail", ""});
  c.cases.insert(c.cases.begin(), {"test_core", "ok_one", "pass", ""});
  EXPECT_EQ(c.judge().reason,
            "assertion failed: kselftest.fail == 0 (was 0); failed cases: test_core/a, "
            "test_core/b, test_core/c, ...");
  c.cases.resize(2);
  EXPECT_EQ(c.judge().reason,
            "assertion failed: kselftest.fail == 0 (was 0); failed cases: test_core/a");
  // Cases never make a passing run fail.
  c.assertions[0].passed = true;
  EXPECT_EQ(c.judge().outcome, Outcome::pass);
}

TEST(JudgeTest, AssertionThatCannotBeEvaluatedFails) {
  Case c;
  c.assertions = {{"nope > 1", 0, false, "unknown name 'nope'"}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_NE(v.reason.find("unknown name 'nope'"), std::string::npos);
}

// A metric the kernel cannot provide makes its assertion unjudgeable: a
// skip saying which, unless another assertion truly failed.
TEST(JudgeTest, AssertionOverAMissingMetricSkipsUnlessAnotherFails) {
  Case c;
  AssertionResult missing{"memcgs_added <= 10", 0, false, "metric 'memcgs_added' is missing: x"};
  missing.missing = "memcgs_added";
  c.assertions = {{"a > 0", 1, true, ""}, missing};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::skip);
  EXPECT_EQ(v.reason,
            "cannot judge on this kernel: memcgs_added <= 10 (metric 'memcgs_added' is missing: x)");
  c.assertions.push_back({"b > 0", 0, false, ""});
  EXPECT_EQ(c.judge().outcome, Outcome::fail);
}

// The agent's "unsupported": the kernel lacks what the workload needs (the
// v1 memory controller, MGLRU, memcg disabled on the command line).
TEST(JudgeTest, KernelLackingWhatTheWorkloadNeedsIsASkipNamingIt) {
  Case c;
  c.records.unsupported = {"the memory controller is disabled in this kernel "
                           "(cgroup_disable=memory on the command line)"};
  c.records.done = true;
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::skip);
  EXPECT_EQ(v.reason,
            "kernel lacks: the memory controller is disabled in this kernel "
            "(cgroup_disable=memory on the command line)");
  // A splat still fails the run.
  c.console.findings = {{"WARNING", "WARNING in foo", 3, false, false, ""}};
  EXPECT_EQ(c.judge().outcome, Outcome::fail);
}

// ENOSPC on the scratch disk, EMFILE: the harness sized the guest too small.
// Infra, whatever the assertions would say, and the reason says so.
TEST(JudgeTest, GuestOutOfRoomIsInfraNeverTheKernelsFail) {
  Case c;
  c.records.limit_errors = {"write 4096 bytes to /scratch/dying.dat: No space left on device"};
  c.assertions = {{"dying_after_loop <= 200", 0, false, ""}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::infra);
  EXPECT_NE(v.reason.find("not the kernel's verdict"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("No space left on device"), std::string::npos) << v.reason;
}

TEST(JudgeTest, KernelWarningFailsEvenWhenAssertionsHold) {
  Case c;
  c.assertions = {{"x", 1, true, ""}};
  c.console.findings = {{"WARNING", "WARNING in lru_gen_reparent_memcg", 12, false, false, ""}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason, "WARNING in lru_gen_reparent_memcg");
}

TEST(JudgeTest, ToleratedTitlesDoNotFailButOthersStill) {
  Case c;
  c.console.findings = {{"WARNING", "WARNING in lru_gen_reparent_memcg", 12, false, false, ""}};
  c.tolerated = {"WARNING in lru_gen_reparent_memcg"};
  EXPECT_EQ(c.judge().outcome, Outcome::pass);
  c.console.findings.push_back({"BUG", "BUG: Bad page state", 40, false, false, ""});
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason, "BUG: Bad page state");
}

Snapshot taint_snapshot(const std::string& name, const std::string& value) {
  Snapshot s;
  s.name = name;
  s.files["/proc/sys/kernel/tainted"] = value + "\n";
  return s;
}

TEST(JudgeTest, ATaintTheRunAddedFailsItEvenWithASilentConsole) {
  Case c;
  c.records.snapshots = {taint_snapshot("before", "0"), taint_snapshot("after", "512")};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason, "kernel tainted during the run: 512 (was 0)");
  auto t = taint_appeared(c.records);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->second, 512u);
}

TEST(JudgeTest, ATaintThatAToleratedFindingExplainsDoesNotFailTheRun) {
  Case c;
  c.records.snapshots = {taint_snapshot("before", "0"), taint_snapshot("after", "512")};
  c.console.findings = {{"WARNING", "WARNING in lru_gen_reparent_memcg", 12, false, false, ""}};
  c.tolerated = {"WARNING in lru_gen_reparent_memcg"};
  EXPECT_EQ(c.judge().outcome, Outcome::pass);
}

TEST(MarkToleratedTest, MarksExactlyTheListedTitles) {
  std::vector<ConsoleFinding> f = {{"WARNING", "WARNING in f", 1, false, false, ""},
                                   {"BUG", "BUG: Bad page state", 2, false, true, ""}};
  mark_tolerated(f, {"WARNING in f", "WARNING in g"});
  EXPECT_TRUE(f[0].tolerated);
  EXPECT_FALSE(f[1].tolerated) << "a title not on the list is not tolerated, whatever it was";
}

TEST(JudgeTest, ATaintPresentBeforeTheRunDoesNotFailIt) {
  Case c;
  c.records.snapshots = {taint_snapshot("before", "4096"), taint_snapshot("settled", "4096")};
  EXPECT_EQ(c.judge().outcome, Outcome::pass);
  EXPECT_FALSE(taint_appeared(c.records).has_value());
}

TEST(JudgeTest, PanicBeforeTheAgentIsAFailNotInfra) {
  Case c;
  c.records = {};
  c.console.panicked = true;
  c.console.findings = {{"panic", "kernel panic: Attempted to kill init!", 40, false, false, ""}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason, "kernel panic: Attempted to kill init!");
}

TEST(JudgeTest, TheFirstReportIsTheReasonAndAPanicAfterItDoesNotHideIt) {
  Case c;
  c.records = {};
  c.vm.kind = VmExitKind::vm_failed;  // QEMU ended with the panic (-no-reboot)
  c.console.panicked = true;
  c.console.findings = {
      {"BUG", "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", 300, false, false, ""},
      {"panic", "kernel panic: Fatal exception", 340, false, false, ""}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_EQ(v.reason, "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION (+1 more)");
  // Tolerating the first makes the next one the reason.
  c.tolerated = {"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"};
  EXPECT_EQ(c.judge().reason, "kernel panic: Fatal exception");
}

TEST(JudgeTest, TimeoutsAndVmFailuresAreInfra) {
  Case c;
  c.records = {};
  c.vm.kind = VmExitKind::boot_timeout;
  c.console.booted = false;
  EXPECT_EQ(c.judge().outcome, Outcome::infra);
  EXPECT_NE(c.judge().reason.find("no kernel output"), std::string::npos);
  c.vm.kind = VmExitKind::run_timeout;
  EXPECT_EQ(c.judge().outcome, Outcome::infra);
  c.vm.kind = VmExitKind::vm_failed;
  EXPECT_EQ(c.judge().outcome, Outcome::infra);
  c.vm.kind = VmExitKind::interrupted;
  EXPECT_EQ(c.judge().reason, "interrupted");
}

TEST(JudgeTest, HungTaskDuringATimeoutIsTheKernelsFault) {
  Case c;
  c.vm.kind = VmExitKind::run_timeout;
  c.console.findings = {{"hung task", "INFO: task kworker/u4:1 blocked for more than 120 seconds",
                         99, false, false, ""}};
  EXPECT_EQ(c.judge().outcome, Outcome::fail);
}

TEST(JudgeTest, AgentErrorsSplitIntoSetupAndWorkload) {
  Case c;
  c.records.setup_errors = {"mount /dev/vda: No such device"};
  EXPECT_EQ(c.judge().outcome, Outcome::infra);
  c.records.setup_errors.clear();
  c.records.workload_errors = {"rmdir w3: Device or resource busy"};
  EXPECT_EQ(c.judge().outcome, Outcome::fail);
  c.records.workload_errors.clear();
  c.records.done = false;
  EXPECT_EQ(c.judge().outcome, Outcome::infra);
}

TEST(WorkloadConfigTest, ARunIsSkippedNamingWhatItsFragmentLost) {
  ScopedTempDir tmp;
  write_file(tmp.path() / "w/kernel.config", "CONFIG_PSI=y\n# comment\nCONFIG_NUMA=y\n");
  WorkloadSpec w;
  w.name = "w";
  w.dir = tmp.path() / "w";
  w.config = {tmp.path() / "w/kernel.config"};
  EXPECT_EQ(missing_workload_config(w, "CONFIG_PSI=y\nCONFIG_NUMA=y\n", "arm64"), "");
  std::string why = missing_workload_config(w, "CONFIG_PSI=y\n# CONFIG_NUMA is not set\n", "arm64");
  EXPECT_NE(why.find("workload 'w'"), std::string::npos) << why;
  EXPECT_NE(why.find("CONFIG_NUMA=y (w/kernel.config:3)"), std::string::npos) << why;
  EXPECT_EQ(why.find("CONFIG_PSI"), std::string::npos) << why;
  // An arch-only fragment counts on its arch only.
  write_file(tmp.path() / "w/emu.config", "CONFIG_NUMA_EMU=y\n");
  w.arch_config["x86_64"] = {tmp.path() / "w/emu.config"};
  EXPECT_EQ(missing_workload_config(w, "CONFIG_PSI=y\nCONFIG_NUMA=y\n", "arm64"), "");
  EXPECT_NE(missing_workload_config(w, "CONFIG_PSI=y\nCONFIG_NUMA=y\n", "x86_64").find("NUMA_EMU"),
            std::string::npos);
  w.config.clear();
  w.arch_config.clear();
  EXPECT_EQ(missing_workload_config(w, "", "x86_64"), "");
}

// kselftest-cgroup asks for CONFIG_MEMCG_KMEM, which is gone by 6.12 (kmem
// accounting is always on): on such a tree the workload runs.
TEST(WorkloadConfigTest, ASymbolTheTreeDoesNotDefineIsNotMissing) {
  ScopedTempDir tmp;
  write_file(tmp.path() / "w/kernel.config", "CONFIG_MEMCG=y\nCONFIG_MEMCG_KMEM=y\n");
  WorkloadSpec w;
  w.name = "w";
  w.dir = tmp.path() / "w";
  w.config = {tmp.path() / "w/kernel.config"};
  EXPECT_NE(missing_workload_config(w, "CONFIG_MEMCG=y\n", "x86_64"), "");
  EXPECT_EQ(missing_workload_config(w, "CONFIG_MEMCG=y\n", "x86_64", {"CONFIG_MEMCG_KMEM"}), "");
}

}  // namespace
}  // namespace kh
