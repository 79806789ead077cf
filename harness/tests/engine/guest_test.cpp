#include "engine/guest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "util/files.h"

namespace kh {
namespace {

TEST(AgentConfigTest, FileParamsReachTheAgentAsTheirPathInTheImage) {
  WorkloadRef ref{"cover", "script", {}, ""};
  PlannedRun run;
  run.ref = &ref;
  run.spec = parse_workload(
      "name: script\nparams: {script: {default: '', file: true}, cgroup: v1}\n", "w.yaml", "/w");
  run.params = {{"script", "/home/dev/repro/loop.sh"}, {"cgroup", "v1"}};
  auto j = nlohmann::json::parse(agent_config_json(run));
  EXPECT_EQ(j["params"]["script"], "/kharness/files/script/loop.sh");
  EXPECT_EQ(j["params"]["cgroup"], "v1");
}

TEST(AgentConfigTest, CarriesWorkloadParamsAndDisk) {
  PlannedRun run;
  run.spec.name = "dying-cgroup";
  run.params = {{"iterations", "500"}, {"cgroup", "v2"}};
  run.spec.machine.disk_mb = 64;
  auto j = nlohmann::json::parse(agent_config_json(run));
  EXPECT_EQ(j["workload"], "dying-cgroup");
  EXPECT_EQ(j["params"]["iterations"], "500");
  EXPECT_EQ(j["disk"], "/dev/vda");
  EXPECT_FALSE(j.contains("shell")) << "a run never asks for a shell";
  run.spec.machine.disk_mb = 0;
  EXPECT_FALSE(nlohmann::json::parse(agent_config_json(run)).contains("disk"));
}

TEST(AgentConfigTest, ShellForKharnessBoot) {
  PlannedRun run;
  run.spec.name = "dying-cgroup";
  run.spec.machine.disk_mb = 64;
  auto instead = nlohmann::json::parse(agent_config_json(run, AgentShell::instead_of_workload));
  EXPECT_EQ(instead["shell"], "instead");
  EXPECT_EQ(instead["workload"], "dying-cgroup") << "the guest still knows its workload";
  EXPECT_EQ(instead["disk"], "/dev/vda");
  run.spec.machine.disk_mb = 0;
  auto after = nlohmann::json::parse(agent_config_json(run, AgentShell::after_workload));
  EXPECT_EQ(after["shell"], "after");
}

// --image arch/x86/boot/bzImage of an O= build finds that build's .config;
// a lone image finds none and boots without the config's arguments.
TEST(ConfigBootArgsTest, AnImageFindsItsBuildsConfig) {
  ScopedTempDir dir("kharness-guest-test");
  const auto boot = dir.path() / "build/arch/x86/boot";
  std::filesystem::create_directories(boot);
  write_file(boot / "bzImage", "image");
  EXPECT_EQ(config_near_image(boot / "bzImage"), "");
  write_file(dir.path() / "build/.config", "CONFIG_X86_MPPARSE=y\nCONFIG_PCI_MSI=y\n");
  EXPECT_EQ(config_near_image(boot / "bzImage"), dir.path() / "build/.config");
  EXPECT_EQ(config_boot_args(*find_arch("x86_64"), config_near_image(boot / "bzImage")),
            "acpi=noirq");
  EXPECT_EQ(config_boot_args(*find_arch("x86_64"), ""), "");
  EXPECT_EQ(config_boot_args(*find_arch("x86_64"), dir.path() / "missing"), "");
}

}  // namespace
}  // namespace kh
