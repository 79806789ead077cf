#include "core/executor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/files.h"

namespace kh {
namespace {

struct Case {
  VmExit vm;
  ConsoleReport console;
  AgentRecords records;
  std::vector<AssertionResult> assertions;
  Case() {
    vm.kind = VmExitKind::powered_off;
    vm.exit_code = 0;
    console.booted = true;
    records.ready = true;
    records.done = true;
  }
  std::vector<std::string> tolerated;
  Verdict judge() const { return judge_run(vm, console, records, assertions, tolerated); }
};

TEST(JudgeTest, CleanRunWithHoldingAssertionsPasses) {
  Case c;
  c.assertions = {{"dying_after_loop <= 200", 1, true, ""}};
  EXPECT_EQ(c.judge().outcome, Outcome::pass);
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

TEST(JudgeTest, AssertionThatCannotBeEvaluatedFails) {
  Case c;
  c.assertions = {{"nope > 1", 0, false, "unknown name 'nope'"}};
  Verdict v = c.judge();
  EXPECT_EQ(v.outcome, Outcome::fail);
  EXPECT_NE(v.reason.find("unknown name 'nope'"), std::string::npos);
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

TEST(ProgramCasesTest, KtapOutputsBecomeCasesAndCountsEveryOutputGetsItsExitStatus) {
  AgentRecords records;
  records.outputs.push_back({"test_core", "ktap", 0, false, 2.5,
                             "TAP version 13\n1..2\nok 1 test_cgcore_populated\n"
                             "not ok 2 test_cgcore_invalid_domain\n"});
  records.outputs.push_back(
      {"test_kmem", "ktap", 4, false, 0.1, "TAP version 13\n1..0 # SKIP no kmem\n"});
  records.outputs.push_back({"script", "text", 3, true, 600, "ok 1 looks like tap but is not\n"});
  Metrics m;
  auto cases = program_cases(records, m);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[1].program + "/" + cases[1].name, "test_core/test_cgcore_invalid_domain");
  EXPECT_EQ(m.at("kselftest.pass"), 1);
  EXPECT_EQ(m.at("kselftest.fail"), 1);
  EXPECT_EQ(m.at("kselftest.skip"), 1);
  EXPECT_EQ(m.at("kselftest.total"), 3);
  EXPECT_EQ(m.at("test_core.fail"), 1);
  EXPECT_EQ(m.at("test_kmem.pass"), 0);
  EXPECT_EQ(m.at("test_kmem.exit_status"), 4);
  EXPECT_EQ(m.at("script.exit_status"), 3);
  EXPECT_EQ(m.at("script.timed_out"), 1);
  EXPECT_EQ(m.count("script.pass"), 0u) << "text output is not parsed as KTAP";
}

TEST(AgentConfigTest, FileParamsReachTheAgentAsTheirPathInTheImage) {
  WorkloadRef ref{"cover", "script", {}, ""};
  PlannedRun run;
  run.ref = &ref;
  run.spec = parse_workload(
      "name: script\nparams: {script: {default: '', file: true}, cgroup: v1}\n", "w.yaml", "/w");
  run.params = {{"script", "/home/dev/repro/loop.sh"}, {"cgroup", "v1"}};
  auto j = nlohmann::json::parse(agent_config_json(run, true));
  EXPECT_EQ(j["params"]["script"], "/kharness/files/script/loop.sh");
  EXPECT_EQ(j["params"]["cgroup"], "v1");
}

TEST(ReproduceTest, ReplaysTheExactArgvInAFreshFolder) {
  std::string s = reproduce_script(
      {"qemu-system-x86_64", "-append", "console=ttyS0 panic=-1", "-initrd", "initramfs.cpio"}, 64);
  EXPECT_EQ(s.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_NE(s.find("qemu-system-x86_64 -append 'console=ttyS0 panic=-1' -initrd initramfs.cpio\n"),
            std::string::npos);
  EXPECT_NE(s.find("mkfs.ext4 -q -F -L kharness scratch.img"), std::string::npos);
  EXPECT_NE(s.find("truncate -s 64M"), std::string::npos);
  EXPECT_EQ(reproduce_script({"q"}, 0).find("mkfs"), std::string::npos);
}

TEST(AgentConfigTest, CarriesWorkloadParamsAndDisk) {
  PlannedRun run;
  run.spec.name = "dying-cgroup";
  run.params = {{"iterations", "500"}, {"cgroup", "v2"}};
  auto j = nlohmann::json::parse(agent_config_json(run, true));
  EXPECT_EQ(j["workload"], "dying-cgroup");
  EXPECT_EQ(j["params"]["iterations"], "500");
  EXPECT_EQ(j["disk"], "/dev/vda");
  EXPECT_FALSE(nlohmann::json::parse(agent_config_json(run, false)).contains("disk"));
  EXPECT_FALSE(nlohmann::json::parse(agent_config_json(run, true)).contains("shell"))
      << "a run never asks for a shell";
}

TEST(AgentConfigTest, ShellForKharnessBoot) {
  PlannedRun run;
  run.spec.name = "dying-cgroup";
  auto instead =
      nlohmann::json::parse(agent_config_json(run, true, AgentShell::instead_of_workload));
  EXPECT_EQ(instead["shell"], "instead");
  EXPECT_EQ(instead["workload"], "dying-cgroup") << "the guest still knows its workload";
  EXPECT_EQ(instead["disk"], "/dev/vda");
  auto after = nlohmann::json::parse(agent_config_json(run, false, AgentShell::after_workload));
  EXPECT_EQ(after["shell"], "after");
}

TEST(CollectMetricsTest, ParamsAgentMetricsAndDerivedOnes) {
  PlannedRun run;
  run.params = {{"iterations", "500"}, {"cgroup", "v2"}};
  run.spec.metrics = {{"half", "iterations / 2"}, {"per_iter", "loop_seconds / iterations"}};
  AgentRecords rec;
  rec.metrics["loop_seconds"] = 5;
  std::vector<std::string> errors;
  Metrics m = collect_metrics(run, rec, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_DOUBLE_EQ(m.at("iterations"), 500);
  EXPECT_EQ(m.count("cgroup"), 0u) << "non-numeric params are not metrics";
  EXPECT_DOUBLE_EQ(m.at("half"), 250);
  EXPECT_DOUBLE_EQ(m.at("per_iter"), 0.01);
}

}  // namespace
}  // namespace kh
