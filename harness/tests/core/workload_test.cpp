#include "core/workload.h"

#include <gtest/gtest.h>

#include "core/paths.h"
#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

const char* kSpec = R"(name: w
params:
  iterations: {default: 2000}
  cgroup: {default: v2, choices: [v1, v2]}
  label: hello
machine: {cpus: 1, memory_mb: 256, disk_mb: 32}
metrics:
  - a: before.x + 1
  - b: a * 2
assertions: [b > 0]
key_metric: b
)";

TEST(WorkloadTest, ParsesEverything) {
  WorkloadSpec w = parse_workload(kSpec, "workload.yaml", "/w");
  EXPECT_EQ(w.name, "w");
  ASSERT_EQ(w.params.size(), 3u);
  EXPECT_TRUE(w.params[0].numeric);
  EXPECT_EQ(w.params[1].choices, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_FALSE(w.params[2].numeric);
  EXPECT_EQ(w.machine.disk_mb, 32);
  ASSERT_EQ(w.metrics.size(), 2u);
  EXPECT_EQ(w.metrics[1].first, "b");  // order kept
  EXPECT_EQ(w.assertions, std::vector<std::string>{"b > 0"});
  EXPECT_EQ(w.key_metric, "b");
}

TEST(WorkloadTest, MachineShapeNumaAndConfigFragments) {
  ScopedTempDir tmp;
  write_file(tmp.path() / "kernel.config", "CONFIG_PSI=y\n");
  WorkloadSpec w = parse_workload(
      "name: w\nmachine: {cpus: 2, memory_mb: 512, numa_nodes: 2}\n"
      "cmdline: hung_task_timeout_secs=5\nconfig: [kernel.config]\n",
      "workload.yaml", tmp.path());
  EXPECT_EQ(w.machine.numa_nodes, 2);
  EXPECT_EQ(w.cmdline, "hung_task_timeout_secs=5");
  ASSERT_EQ(w.config.size(), 1u);
  EXPECT_EQ(w.config[0], tmp.path() / "kernel.config");

  write_file(tmp.path() / "emu.config", "CONFIG_NUMA_EMU=y\n");
  WorkloadSpec a =
      parse_workload("name: w\nconfig: [kernel.config, {file: emu.config, arch: x86_64}]\n",
                     "workload.yaml", tmp.path());
  EXPECT_EQ(a.config_for("arm64"),
            std::vector<std::filesystem::path>{tmp.path() / "kernel.config"});
  EXPECT_EQ(a.config_for("x86_64"), (std::vector<std::filesystem::path>{
                                        tmp.path() / "kernel.config", tmp.path() / "emu.config"}));

  auto error = [&](const std::string& yaml) {
    try {
      parse_workload(yaml, "workload.yaml", tmp.path());
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("name: w\nconfig: [psi.config]\n").find("psi.config: no such file"),
            std::string::npos);
  EXPECT_NE(error("name: w\nconfig: [../x.config]\n").find("must be a file in the workload's"),
            std::string::npos);
  EXPECT_NE(
      error("name: w\nconfig: [{file: kernel.config, arch: s390}]\n").find("unknown arch 's390'"),
      std::string::npos);
  EXPECT_NE(error("name: w\nmachine: {cpus: 3, numa_nodes: 2}\n").find("do not split evenly"),
            std::string::npos);
}

TEST(WorkloadTest, UnknownKeyAndBadDefault) {
  try {
    parse_workload("name: w\nparms: {}\n", "workload.yaml", "/w");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("workload.yaml:2:1: unknown key 'parms'", 0), 0u)
        << e.what();
  }
  EXPECT_THROW(
      parse_workload("name: w\nparams: {c: {default: v3, choices: [v1, v2]}}\n", "y", "/w"),
      InputError);
}

TEST(WorkloadTest, InvariantsAreCheckedUnlessTurnedOffWithAReason) {
  EXPECT_EQ(parse_workload("name: w\n", "y", "/w").invariants_off, "");
  EXPECT_EQ(parse_workload("name: w\ninvariants: {check: true}\n", "y", "/w").invariants_off, "");
  EXPECT_EQ(
      parse_workload("name: w\ninvariants: {check: false, reason: races by design}\n", "y", "/w")
          .invariants_off,
      "races by design");
  try {
    parse_workload("name: w\ninvariants: {check: false}\n", "workload.yaml", "/w");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("workload.yaml:2:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("needs a reason"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_workload("name: w\ninvariants: {check: no}\n", "y", "/w"), InputError);
  EXPECT_THROW(parse_workload("name: w\ninvariants: {skip: true}\n", "y", "/w"), InputError);
}

TEST(WorkloadTest, ParamsLayerDefaultsJobAndSet) {
  WorkloadSpec w = parse_workload(kSpec, "workload.yaml", "/w");
  auto p = resolve_params(w, {{"iterations", "500"}}, {{"cgroup", "v1"}}, "job.yaml");
  EXPECT_EQ(p.at("iterations"), "500");
  EXPECT_EQ(p.at("cgroup"), "v1");
  EXPECT_EQ(p.at("label"), "hello");
}

TEST(WorkloadTest, BadParamsAreErrorsNamingTheOrigin) {
  WorkloadSpec w = parse_workload(kSpec, "workload.yaml", "/w");
  try {
    resolve_params(w, {}, {{"iteratons", "5"}}, "job.yaml");
    FAIL();
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("no parameter 'iteratons'"), std::string::npos) << m;
    EXPECT_NE(m.find("from --set"), std::string::npos) << m;
  }
  EXPECT_THROW(resolve_params(w, {{"cgroup", "v3"}}, {}, "j"), InputError);
  EXPECT_THROW(resolve_params(w, {{"iterations", "lots"}}, {}, "j"), InputError);
}

TEST(WorkloadTest, ShippedWorkloadsParse) {
  WorkloadSpec w = load_workload(Paths::from_environment().workloads_root(), "dying-cgroup");
  EXPECT_EQ(w.name, "dying-cgroup");
  EXPECT_GT(w.machine.disk_mb, 0) << "page-cache workloads need a real disk";
  EXPECT_FALSE(w.assertions.empty());
}

TEST(WorkloadTest, UnknownWorkloadListsKnownOnes) {
  try {
    load_workload(Paths::from_environment().workloads_root(), "nope");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dying-cgroup"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kh
