#include "engine/limits.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace kh {
namespace {

PlannedRun dying_run(const std::string& iterations, const std::string& pin = "pagecache") {
  PlannedRun run;
  run.spec = parse_workload(R"(name: dying-cgroup
params:
  iterations: {default: 2000}
  pin: {default: pagecache, choices: [pagecache, kmem]}
machine: {disk_mb: 64}
limits:
  - check: iterations * 4 <= 0.8 * disk_mb * 1024
    when: {pin: pagecache}
    why: each iteration appends a 4 KiB page to the scratch disk
)",
                            "w.yaml", "/w");
  run.params = {{"iterations", iterations}, {"pin", pin}};
  run.run_dir = "linux-6.1/x86_64/dying-cgroup";
  return run;
}

TEST(LimitsTest, ParameterBeyondTheDiskNamesItTheLimitAndBothSides) {
  EXPECT_EQ(limit_violation(dying_run("2000")), "");
  EXPECT_EQ(limit_violation(dying_run("13107")), "");  // 52428 KiB: just fits
  EXPECT_EQ(limit_violation(dying_run("20000")),
            "linux-6.1/x86_64/dying-cgroup: iterations=20000 cannot fit the guest: "
            "iterations * 4 <= 0.8 * disk_mb * 1024 is 80000 <= 52428.8 (each iteration appends "
            "a 4 KiB page to the scratch disk; w.yaml:7:5)");
  // when: the kmem case writes nothing to the disk.
  EXPECT_EQ(limit_violation(dying_run("20000", "kmem")), "");
  // The plan is refused as bad input (exit 2) before anything boots.
  EXPECT_THROW(check_limits({dying_run("2000"), dying_run("20000")}), InputError);
  EXPECT_NO_THROW(check_limits({dying_run("2000")}));
}

TEST(LimitsTest, MistakesInTheLimitItselfSayWhere) {
  PlannedRun run = dying_run("10");
  run.spec.limits[0].check = "iterations * page <= disk_mb";
  try {
    limit_violation(run);
    FAIL() << "an unknown name must throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("w.yaml:7:5: limit"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("page"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_workload("name: x\nlimits:\n  - {check: a > 1, why: y, when: {nope: 1}}\n",
                              "w.yaml", "/w"),
               InputError);
  EXPECT_THROW(parse_workload("name: x\nlimits:\n  - {check: a > 1}\n", "w.yaml", "/w"),
               InputError);
}

}  // namespace
}  // namespace kh
