// Real build, real QEMU: memcg-stress on Linux 6.1 x86_64 (the cached
// kernel of workloads-x86_64.yaml), MGLRU off and on, 20 s each: the CI-sized
// stress, and the statistics invariants on every one of its snapshots.
#include <gtest/gtest.h>

#include <string>

#include "kharness_cli.h"

namespace kh::it {
namespace {

class MemcgStressX86 : public JobRunTest {
 protected:
  static void SetUpTestSuite() {
    start({"run", job("workloads-x86_64.yaml"), "--kernel", "linux-6.1", "--workload",
           "memcg-stress", "--workload", "memcg-stress-mglru", "--jobs", "2"});
  }
  static void TearDownTestSuite() { finish(); }
};

const char* const kRuns[] = {"memcg-stress", "memcg-stress-mglru"};

TEST_F(MemcgStressX86, BothRunCleanOn61) {
  EXPECT_EQ(cli().exit_code, 0) << cli().output;
  for (const char* id : kRuns) {
    auto r = result(id);
    EXPECT_EQ(r["outcome"], "pass") << id << ": " << r["reason"];
    EXPECT_TRUE(r["console"].empty()) << id;
  }
}

TEST_F(MemcgStressX86, TheStressDidWhatItSays) {
  for (const char* id : kRuns) {
    const auto r = result(id);
    const auto& m = r["metrics"];
    EXPECT_GE(m.value("churn_cgroups", 0.0), 20) << id;
    EXPECT_GE(m.value("reclaim_writes", 0.0), 2) << id;
    EXPECT_GE(m.value("hog_passes", 0.0), 1) << id;
    // Bounded: 20 s of stress plus two pauses with snapshots.
    EXPECT_GE(m.value("stress_seconds", 0.0), 20) << id;
    EXPECT_LT(m.value("stress_seconds", 1e9), 60) << id;
  }
  // MGLRU on: the ager ran and the kernel took its aging commands.
  const auto mglru = result("memcg-stress-mglru");
  const auto& on = mglru["metrics"];
  EXPECT_EQ(on.value("aging_walks", -1.0), 1);
  EXPECT_GE(on.value("aging_commands", 0.0), 1);
  EXPECT_EQ(result("memcg-stress")["metrics"].value("aging_walks", -1.0), 0);
}

TEST_F(MemcgStressX86, EverySnapshotWasCheckedAndHeld) {
  for (const char* id : kRuns) {
    auto r = result(id);
    const nlohmann::json* summary = nullptr;
    for (const auto& a : r["assertions"])
      if (a["expression"] == "statistics invariants hold") summary = &a;
    ASSERT_NE(summary, nullptr) << id;
    EXPECT_TRUE((*summary)["passed"].get<bool>()) << id << ": " << r["assertions"].dump();
    // before, round1, round1_churn, round2, round2_churn, after.
    EXPECT_NE((*summary)["detail"].get<std::string>().find("over 6 snapshots; 0 broken"),
              std::string::npos)
        << (*summary)["detail"];
    // The churn parent's snapshot compared it with its two residents.
    EXPECT_EQ(r["metrics"].value("round1_churn.live_children", -1.0), 2) << id;
  }
}

}  // namespace
}  // namespace kh::it
