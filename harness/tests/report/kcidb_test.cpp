#include "report/kcidb.h"

#include <gtest/gtest.h>

#include "kernel/builder.h"
#include "report/sample_runs.h"

namespace kh {
namespace {

using nlohmann::json;
using test::sample_runs;

std::vector<RunResult> identified_runs() {
  auto runs = sample_runs();
  for (auto& r : runs) {
    r.kernel.source_id = "git:" + std::string(40, 'd');
    r.kernel.commit = "0123456789abcdef0123456789abcdef01234567";
    r.kernel.series_hash = std::string(64, 'e');
    r.kernel.config_hash = std::string(64, 'c');
    r.kernel.patches = {"/src/kernel-patches/dying-memcg-v2/0001-mm-reparent.patch",
                        "/src/kernel-patches/dying-memcg-v2/0002-mm-lru.patch"};
    r.key_metric = "settled.nr_dying_descendants";
    r.started = "2026-11-24T21:13:14Z";
  }
  return runs;
}

const json* find_test(const json& j, const std::string& path) {
  for (const auto& t : j["tests"])
    if (t["path"] == path) return &t;
  return nullptr;
}

TEST(Kcidb, OutputHasEveryRequiredFieldAndValidIds) {
  auto j = kcidb_json("nightly", identified_runs(), "/srv/results/nightly-20261124-010000");
  auto problems = kcidb_problems(j);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << j.dump(1);
  EXPECT_EQ(j["version"]["major"], 5);
  EXPECT_EQ(j["version"]["minor"], 0);
  // One kernel, one arch: one checkout, one build; every test links to it.
  ASSERT_EQ(j["checkouts"].size(), 1u);
  ASSERT_EQ(j["builds"].size(), 1u);
  const json& c = j["checkouts"][0];
  EXPECT_EQ(c["origin"], "kharness");
  EXPECT_EQ(c["id"].get<std::string>().rfind("kharness:", 0), 0u);
  EXPECT_EQ(c["git_commit_hash"], "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(c["patchset_hash"], std::string(64, 'e'));
  ASSERT_EQ(c["patchset_files"].size(), 2u);
  EXPECT_EQ(c["patchset_files"][0]["name"], "0001-mm-reparent.patch");
  EXPECT_EQ(c["patchset_files"][1]["url"],
            "file:///src/kernel-patches/dying-memcg-v2/0002-mm-lru.patch");
  const json& b = j["builds"][0];
  EXPECT_EQ(b["checkout_id"], c["id"]);
  EXPECT_EQ(b["id"], "kharness:3f2a9c");  // the artifact key
  EXPECT_EQ(b["architecture"], "x86_64");
  EXPECT_EQ(b["status"], "PASS");
  for (const auto& t : j["tests"]) EXPECT_EQ(t["build_id"], b["id"]);
  // Test ids: the results folder's name and the run folder.
  EXPECT_EQ(j["tests"][0]["id"], "kharness:nightly-20261124-010000/baseline/x86_64/dying-cgroup/0");
}

TEST(Kcidb, OutcomesMapToKcidbStatuses) {
  auto j = kcidb_json("nightly", identified_runs(), "/r/job");
  std::vector<std::string> statuses;
  for (const auto& t : j["tests"])
    if (t["path"] == "kharness.dying-cgroup") statuses.push_back(t["status"]);
  // pass, fail, infra after a boot, skip.
  EXPECT_EQ(statuses, (std::vector<std::string>{"PASS", "FAIL", "ERROR", "SKIP"}));
  RunResult never_booted = test::sample_run(Outcome::infra);
  never_booted.accel.clear();
  never_booted.timings.erase("boot");
  EXPECT_EQ(kcidb_status(never_booted), "MISS");
}

TEST(Kcidb, KeyMetricAssertionsAndCasesAreTestsWithNumbers) {
  auto runs = identified_runs();
  runs.resize(2);  // pass, fail
  runs[1].cases = {{"test_memcontrol", "test_memcg_oom.events", "fail", "no oom"},
                   {"test_memcontrol", "test_memcg_swap", "skip", "no swap"}};
  auto j = kcidb_json("nightly", runs, "/r/job");
  EXPECT_TRUE(kcidb_problems(j).empty()) << ::testing::PrintToString(kcidb_problems(j));
  const json* run = find_test(j, "kharness.dying-cgroup");
  ASSERT_TRUE(run);
  EXPECT_EQ((*run)["number"]["value"], 211);
  const json* key = find_test(j, "kharness.dying-cgroup.settled_nr_dying_descendants");
  ASSERT_TRUE(key);
  EXPECT_EQ((*key)["status"], "DONE");
  EXPECT_EQ((*key)["number"]["value"], 211);
  // The failing run's assertions: FAIL, ERROR (could not evaluate), PASS.
  std::vector<std::string> st;
  for (const auto& t : j["tests"])
    if (t["id"].get<std::string>().find("/1/assertion_") != std::string::npos)
      st.push_back(t["status"]);
  EXPECT_EQ(st, (std::vector<std::string>{"FAIL", "ERROR", "PASS"}));
  const json* oom = find_test(j, "kharness.dying-cgroup.test_memcontrol.test_memcg_oom_events");
  ASSERT_TRUE(oom);
  EXPECT_EQ((*oom)["status"], "FAIL");
  const json* swap = find_test(j, "kharness.dying-cgroup.test_memcontrol.test_memcg_swap");
  ASSERT_TRUE(swap);
  EXPECT_EQ((*swap)["status"], "SKIP");
  // The failing run carries its console report.
  bool excerpt = false;
  for (const auto& t : j["tests"])
    if (t.contains("log_excerpt"))
      excerpt = t["log_excerpt"].get<std::string>().find("iterate_mm_list") != std::string::npos;
  EXPECT_TRUE(excerpt);
}

TEST(Kcidb, KernelsAndArchesGetTheirOwnCheckoutsAndBuilds) {
  auto runs = identified_runs();
  runs.resize(1);
  RunResult arm = runs[0];
  arm.arch = "arm64";
  arm.kernel.artifact_key = "4b4b4b";
  arm.run_dir = "baseline/arm64/dying-cgroup";
  RunResult base = runs[0];
  base.kernel.name = "base";
  base.kernel.series.clear();
  base.kernel.series_hash.clear();
  base.kernel.patches.clear();
  base.kernel.artifact_key = "5c5c5c";
  base.run_dir = "base/x86_64/dying-cgroup";
  RunResult failed_build = base;  // no kernel: no artifact key
  failed_build.kernel.artifact_key.clear();
  failed_build.kernel.name = "broken";
  failed_build.run_dir = "broken/x86_64/dying-cgroup";
  failed_build.outcome = Outcome::infra;
  failed_build.accel.clear();
  failed_build.timings.clear();
  runs.insert(runs.end(), {arm, base, failed_build});
  auto j = kcidb_json("nightly", runs, "/r/job");
  EXPECT_TRUE(kcidb_problems(j).empty()) << ::testing::PrintToString(kcidb_problems(j));
  // With the series and without it; the broken kernel is the same source
  // as `base` (another label, the same checkout).
  EXPECT_EQ(j["checkouts"].size(), 2u);
  EXPECT_EQ(j["builds"].size(), 4u);
  EXPECT_EQ(j["builds"][3]["status"], "ERROR");
  const json& base_checkout = j["checkouts"][1];
  EXPECT_EQ(base_checkout["patchset_hash"], "");
  EXPECT_TRUE(base_checkout["patchset_files"].empty());
}

TEST(Kcidb, TheCheckerCatchesWhatTheSchemaForbids) {
  auto good = kcidb_json("nightly", identified_runs(), "/r/job");
  ASSERT_TRUE(kcidb_problems(good).empty());
  auto broken = [&](auto edit) {
    json j = good;
    edit(j);
    return kcidb_problems(j).size();
  };
  EXPECT_GT(broken([](json& j) { j.erase("version"); }), 0u);
  EXPECT_GT(broken([](json& j) { j["version"]["major"] = 4; }), 0u);
  EXPECT_GT(broken([](json& j) { j["version"]["minor"] = 9; }), 0u);
  EXPECT_GT(broken([](json& j) { j["checkouts"][0].erase("origin"); }), 0u);
  EXPECT_GT(broken([](json& j) { j["builds"][0].erase("checkout_id"); }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0].erase("build_id"); }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["id"] = "no-origin-here"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["origin"] = "Kharness!"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["status"] = "OK"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["path"] = "kharness/dying cgroup"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["number"] = {{"unit", "s"}}; }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["comment"] = nullptr; }), 0u);
  EXPECT_GT(broken([](json& j) { j["tests"][0]["verdict"] = "bad"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["builds"][0]["id"] = "kharness:other"; }), 0u);  // dangling
  EXPECT_GT(broken([](json& j) { j["checkouts"][0]["patchset_hash"] = "abc"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["checkouts"][0]["git_commit_hash"] = "abc"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["checkouts"][0]["patchset_files"][0]["name"] = "a/b"; }), 0u);
  EXPECT_GT(broken([](json& j) { j["extra"] = json::array(); }), 0u);
}

TEST(Kcidb, PatchsetHashIsKcidbsRecipe) {
  // printf 'a\n' > p1.patch; printf 'b\n' > p2.patch
  // sha256sum p1.patch p2.patch | cut -c-64 | sha256sum | cut -c-64
  EXPECT_EQ(patchset_hash({"a\n", "b\n"}),
            "7b77b1b66500ed66bdb3e5f10e78f55ab6d4b404fa676ec1bee2ab5b31346a80");
  EXPECT_EQ(patchset_hash({}), "");
}

TEST(Kcidb, PathPartsAreSanitised) {
  EXPECT_EQ(kcidb_path_part("dying-cgroup_kmem"), "dying-cgroup_kmem");
  EXPECT_EQ(kcidb_path_part("after.nr dying/x"), "after_nr_dying_x");
  EXPECT_EQ(kcidb_path_part(""), "_");
}

}  // namespace
}  // namespace kh
