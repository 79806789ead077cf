// Real runs into one history: the small dying-memcg job (Linux 6.1,
// x86_64, the cached kernel) four times, then once more with fewer
// iterations under the same workload id: `kharness history` must flag
// exactly that run's key metric, and nothing before it. The exports
// (kcidb.json, results.ktap) of the real results are checked too.
#include <gtest/gtest.h>

#include <memory>

#include "analysis/ktap.h"
#include "kharness_cli.h"
#include "report/kcidb.h"
#include "util/files.h"

namespace kh::it {
namespace {

class HistoryX86 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<ScopedTempDir>("kharness-it-history");
    // Four runs of 100 iterations: the baseline.
    first_ = run({"run", job("history-x86_64.yaml"), "--out", (results() / "first").string()});
    before_ = run({"history", "--history", db().string()});
    before_json_ = run({"history", "--history", db().string(), "--json"});
    // The planted regression: 60 iterations leave 60 dying memcgs, not 100.
    // This job also asks `run` for its dashboard (the same job otherwise).
    write_file(tmp_->path() / "once.yaml",
               read_file(job("history-x86_64-once.yaml")) + "dashboard: " + dashboard().string() +
                   "\n");
    planted_ = run({"run", (tmp_->path() / "once.yaml").string(), "--set",
                    "pagecache.iterations=60", "--out", (results() / "planted").string()});
    after_ = run({"history", "--history", db().string()});
    after_json_ = run({"history", "--history", db().string(), "--json"});
    reimport_ = run({"history", "import", results().string(), "--history", db().string()});
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static CliResult run(const std::vector<std::string>& args) { return run_kharness(args); }
  static std::filesystem::path results() { return tmp_->path() / "results"; }
  // Where `kharness run --out results/X` puts its history by default.
  static std::filesystem::path db() { return results() / "history.sqlite"; }
  static std::filesystem::path dashboard() { return tmp_->path() / "dashboard"; }

  static inline std::unique_ptr<ScopedTempDir> tmp_;
  static inline CliResult first_, before_, before_json_, planted_, after_, after_json_, reimport_;
};

TEST_F(HistoryX86, RunsPassAndAreRecordedBesideTheResults) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  ASSERT_EQ(planted_.exit_code, 0) << planted_.output;  // the run itself passes its assertions
  EXPECT_TRUE(std::filesystem::is_regular_file(db()));
  EXPECT_NE(first_.output.find("history: 4 run(s) recorded in " + db().string()), std::string::npos)
      << first_.output;
  EXPECT_NE(planted_.output.find("history: 1 run(s) recorded"), std::string::npos)
      << planted_.output;
}

// dashboard: in the job: `run` rewrites the job's page from the store after
// recording, and the page leads with the planted regression.
TEST_F(HistoryX86, TheJobsDashboardIsWrittenByRun) {
  ASSERT_TRUE(std::filesystem::is_regular_file(dashboard() / "index.html")) << planted_.output;
  EXPECT_NE(planted_.output.find("dashboard: " + (dashboard() / "index.html").string()),
            std::string::npos)
      << planted_.output;
  std::string html = read_file(dashboard() / "index.html");
  EXPECT_NE(html.find("it-history"), std::string::npos);
  EXPECT_NE(html.find("dying_after_loop"), std::string::npos);
}

TEST_F(HistoryX86, NoRegressionWhileTheMetricHoldsStill) {
  EXPECT_EQ(before_.exit_code, 0) << before_.output;
  EXPECT_NE(before_.output.find("no regression"), std::string::npos) << before_.output;
  auto j = nlohmann::json::parse(before_json_.output);
  ASSERT_EQ(j["series"].size(), 1u) << before_json_.output;
  const auto& s = j["series"][0];
  EXPECT_EQ(s["job"], "it-history");
  EXPECT_EQ(s["workload"], "pagecache");
  ASSERT_EQ(s["runs"].size(), 4u);
  for (const auto& r : s["runs"]) EXPECT_EQ(r["values"]["dying_after_loop"], 100) << r.dump();
  // The kernel identity the history keys on.
  const auto& r0 = s["runs"][0];
  EXPECT_EQ(r0["source_id"].get<std::string>().rfind("tarball:", 0), 0u) << r0.dump();
  EXPECT_EQ(r0["config_hash"].get<std::string>().size(), 64u) << r0.dump();
  EXPECT_EQ(r0["series_hash"], "");
  EXPECT_EQ(s["bands"]["dying_after_loop"]["median"], 100);
  EXPECT_TRUE(j["regressions"].empty());
}

TEST_F(HistoryX86, ThePlantedMetricRegressionIsFlaggedAndNothingElse) {
  EXPECT_EQ(after_.exit_code, 1) << after_.output;
  EXPECT_NE(after_.output.find("REGRESSIONS"), std::string::npos) << after_.output;
  EXPECT_EQ(after_json_.exit_code, 1);
  auto j = nlohmann::json::parse(after_json_.output);
  ASSERT_EQ(j["regressions"].size(), 1u) << after_json_.output;
  const auto& r = j["regressions"][0];
  EXPECT_EQ(r["kind"], "metric_out_of_band");
  EXPECT_EQ(r["subject"], "dying_after_loop");
  EXPECT_EQ(r["workload"], "pagecache");
  EXPECT_EQ(r["arch"], "x86_64");
  EXPECT_EQ(r["value"], 60);
  EXPECT_EQ(r["band"]["median"], 100);
  EXPECT_EQ(r["band"]["n"], 4);
  EXPECT_EQ(j["series"][0]["runs"].size(), 5u);
}

TEST_F(HistoryX86, ImportingTheResultsAgainAddsNothing) {
  EXPECT_EQ(reimport_.exit_code, 0) << reimport_.output;
  EXPECT_NE(reimport_.output.find("0 new run(s) of 5 read from 2 results folder(s); 5 stored"),
            std::string::npos)
      << reimport_.output;
}

TEST_F(HistoryX86, ExportsSitBesideJunitAndRead) {
  auto dir = results() / "first";
  ASSERT_TRUE(std::filesystem::is_regular_file(dir / "junit.xml"));
  auto kcidb = read_json(dir / "kcidb.json");
  auto problems = kcidb_problems(kcidb);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  ASSERT_EQ(kcidb["builds"].size(), 1u);
  EXPECT_EQ(kcidb["builds"][0]["architecture"], "x86_64");
  int runs = 0;
  for (const auto& t : kcidb["tests"])
    if (t["path"] == "kharness.pagecache") {
      ++runs;
      EXPECT_EQ(t["status"], "PASS");
      EXPECT_EQ(t["number"]["value"], 100);
    }
  EXPECT_EQ(runs, 4);
  KtapResult k = parse_ktap(read_file(dir / "results.ktap"), "it-history");
  EXPECT_EQ(k.planned, 4);
  ASSERT_EQ(k.cases.size(), 4u);
  for (const auto& c : k.cases) EXPECT_EQ(c.status, "pass") << c.name;
  // Every run's assertions are subtests: the statistics invariants first
  // (engine/judge), then the job's own.
  const std::string ktap = read_file(dir / "results.ktap");
  EXPECT_NE(ktap.find("  ok 1 assertion statistics invariants hold"), std::string::npos) << ktap;
  EXPECT_NE(ktap.find("  ok 2 assertion dying_after_loop >= 0.9"), std::string::npos) << ktap;
}

}  // namespace
}  // namespace kh::it
