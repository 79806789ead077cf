#include "history/regression.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

namespace kh {
namespace {

StoredRun run(int day, double dying, Outcome outcome = Outcome::pass) {
  StoredRun r;
  r.id = day;
  r.job = "nightly";
  r.kernel.name = "mainline";
  r.arch = "x86_64";
  r.workload = "dying-cgroup";
  r.key_metric = "dying_after_loop";
  r.started = fmt::format("2026-11-{:02d}T01:00:00Z", day);
  r.outcome = outcome;
  r.metrics = {{"dying_after_loop", dying}, {"loop_seconds", 2.0 + day * 0.01}};
  r.assertions = {{"dying_after_loop >= 0.9 * iterations", 1, true, ""},
                  {"tainted == 0", 1, true, ""}};
  return r;
}

std::vector<Regression> judge(const std::vector<StoredRun>& runs,
                              const std::vector<std::string>& metrics = {},
                              const BandRule& rule = {}) {
  auto series = group_series(runs);
  EXPECT_EQ(series.size(), 1u);
  return find_regressions(series[0], judged_metrics(series[0], metrics), rule);
}

std::vector<StoredRun> steady_nights() {
  return {run(1, 500), run(2, 497), run(3, 503), run(4, 499), run(5, 501)};
}

TEST(NoiseBand, MedianPlusMinusScaledMadWithFloors) {
  BandRule rule;
  auto b = noise_band({10, 12, 11, 50, 11}, rule);  // one wild night
  ASSERT_TRUE(b);
  EXPECT_EQ(b->median, 11);
  EXPECT_EQ(b->mad, 1);                           // |dev| = 1 1 0 39 0 -> 1
  EXPECT_NEAR(b->half_width, 4 * 1.4826, 1e-9);   // above the floors 1.1 and 1
  auto flat = noise_band({500, 500, 500}, rule);  // MAD 0: the relative floor
  ASSERT_TRUE(flat);
  EXPECT_DOUBLE_EQ(flat->half_width, 50);
  auto zero = noise_band({0, 0, 0, 0}, rule);  // the absolute floor
  ASSERT_TRUE(zero);
  EXPECT_DOUBLE_EQ(zero->half_width, 1);
  EXPECT_TRUE(zero->contains(1));
  EXPECT_FALSE(zero->contains(2));
  EXPECT_FALSE(noise_band({1, 2}, rule));       // too few to say
  auto even = noise_band({3, 1, 2, 10}, rule);  // an even count: the middle two's mean
  ASSERT_TRUE(even);
  EXPECT_EQ(even->median, 2.5);
}

TEST(Regressions, NoiseInsideTheBandIsNotFlagged) {
  auto runs = steady_nights();
  runs.push_back(run(6, 504));
  EXPECT_TRUE(judge(runs).empty());
  runs.back().metrics["dying_after_loop"] = 455;  // within 10 % of 500
  EXPECT_TRUE(judge(runs).empty());
}

TEST(Regressions, AMetricOutsideItsBandIsFlagged) {
  auto runs = steady_nights();
  runs.push_back(run(6, 300));
  auto r = judge(runs);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Regression::Kind::metric_out_of_band);
  EXPECT_EQ(r[0].subject, "dying_after_loop");
  EXPECT_EQ(r[0].value, 300);
  EXPECT_EQ(r[0].band.median, 500);
  EXPECT_EQ(r[0].band.n, 5);
  EXPECT_EQ(r[0].started, "2026-11-06T01:00:00Z");
  EXPECT_NE(r[0].detail.find("below"), std::string::npos) << r[0].detail;
  // Up is a change too.
  runs.back().metrics["dying_after_loop"] = 900;
  ASSERT_EQ(judge(runs).size(), 1u);
  EXPECT_NE(judge(runs)[0].detail.find("above"), std::string::npos);
}

TEST(Regressions, OnlyTheJudgedMetricsAndOnlyWithEnoughBaseline) {
  auto runs = steady_nights();
  runs.push_back(run(6, 500));
  runs.back().metrics["loop_seconds"] = 40;  // not the key metric
  EXPECT_TRUE(judge(runs).empty());
  auto asked = judge(runs, {"loop_seconds"});
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].subject, "loop_seconds");
  // Two runs before the newest: no band yet.
  std::vector<StoredRun> young = {run(1, 500), run(2, 500), run(3, 100)};
  EXPECT_TRUE(judge(young).empty());
  // --last bounds the baseline: with the last 2 only, again too few.
  BandRule rule;
  rule.last = 2;
  runs.back().metrics["dying_after_loop"] = 100;
  EXPECT_TRUE(judge(runs, {}, rule).empty());
  EXPECT_EQ(judge(runs).size(), 1u);
}

TEST(Regressions, InfraRunsAreNeitherJudgedNorBaseline) {
  auto runs = steady_nights();
  runs.push_back(run(6, 0, Outcome::infra));  // measured nothing
  EXPECT_TRUE(judge(runs).empty());
  // Infra runs between do not count as baseline (nor dilute it).
  runs.push_back(run(7, 300));
  auto series = group_series(runs);
  EXPECT_EQ(baseline(series[0], {}).size(), 5u);
  EXPECT_EQ(judge(runs).size(), 1u);
}

TEST(Regressions, ANewCrashTitleIsFlaggedAKnownOneIsNot) {
  auto runs = steady_nights();
  runs[2].reports = {{"WARNING", "WARNING in iterate_mm_list", 1, false, false, ""}};
  runs.push_back(run(6, 500, Outcome::fail));
  runs.back().reports = {
      {"WARNING", "WARNING in iterate_mm_list", 1, false, false, ""},
      {"BUG", "BUG: kernel NULL pointer dereference in css_release", 9, false, false, ""},
      {"lockdep", "lockdep: possible recursive locking detected", 20, false, true,
       ""}};  // tolerated
  auto r = judge(runs);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Regression::Kind::new_crash);
  EXPECT_EQ(r[0].subject, "BUG: kernel NULL pointer dereference in css_release");
}

TEST(Regressions, AnAssertionThatStartedFailingIsFlaggedAKnownFailureIsNot) {
  auto runs = steady_nights();
  runs.push_back(run(6, 500, Outcome::fail));
  runs.back().assertions[1] = {"tainted == 0", 0, false, ""};
  auto r = judge(runs);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Regression::Kind::assertion_failing);
  EXPECT_EQ(r[0].subject, "tainted == 0");
  // Failing the night before too: not news.
  runs[4].assertions[1] = {"tainted == 0", 0, false, ""};
  runs[4].outcome = Outcome::fail;
  EXPECT_TRUE(judge(runs).empty());
  // An assertion that cannot be evaluated any more counts as failing.
  auto again = steady_nights();
  again.push_back(run(6, 500, Outcome::fail));
  again.back().assertions[0] = {"dying_after_loop >= 0.9 * iterations", NAN, false,
                                "unknown name 'iterations'"};
  auto r2 = judge(again);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_NE(r2[0].detail.find("cannot be evaluated"), std::string::npos) << r2[0].detail;
}

TEST(Regressions, SeriesAreKeptApart) {
  std::vector<StoredRun> runs = steady_nights();
  for (int d = 1; d <= 5; ++d) {
    StoredRun arm = run(d, 10);
    arm.arch = "arm64";
    runs.push_back(arm);
  }
  runs.push_back(run(6, 500));
  StoredRun arm = run(6, 500);  // 10 -> 500 on arm64 only
  arm.arch = "arm64";
  runs.push_back(arm);
  auto series = group_series(runs);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_TRUE(find_regressions(series[0], judged_metrics(series[0], {}), {}).empty());
  auto r = find_regressions(series[1], judged_metrics(series[1], {}), {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].arch, "arm64");
}

TEST(Regressions, SeriesByIdentitySplitWhatALabelJoins) {
  // The nightly's tree moved on day 4 (a new commit, another config):
  // by label one series, the new kernel's first run judged against the old
  // kernel's; by identity two, and the new kernel has no baseline yet.
  std::vector<StoredRun> runs = steady_nights();
  for (auto& r : runs) {
    r.kernel.commit = std::string(40, 'a');
    r.kernel.config_hash = std::string(64, '1');
  }
  runs.push_back(run(6, 300));
  runs.back().kernel.commit = std::string(40, 'b');
  runs.back().kernel.config_hash = std::string(64, '2');
  auto by_label = group_series(runs, SeriesKey::label);
  ASSERT_EQ(by_label.size(), 1u);
  EXPECT_EQ(by_label[0].kernel, "mainline");
  EXPECT_EQ(find_regressions(by_label[0], {"dying_after_loop"}, {}).size(), 1u);
  auto by_identity = group_series(runs, SeriesKey::identity);
  ASSERT_EQ(by_identity.size(), 2u);
  EXPECT_EQ(by_identity[0].kernel, "aaaaaaaaaaaa cfg:111111111111");
  EXPECT_EQ(by_identity[1].runs.size(), 1u);
  EXPECT_TRUE(find_regressions(by_identity[1], {"dying_after_loop"}, {}).empty());
  // A run without identity (an old result.json) keeps its label.
  KernelIdentity old;
  old.name = "mainline";
  EXPECT_EQ(kernel_identity(old), "label:mainline");
  old.source_id = "tarball:" + std::string(64, 'f');
  old.series_hash = std::string(64, 'e');
  EXPECT_EQ(kernel_identity(old), "tarball:ffffffffffff+eeeeeeeeeeee");
}

// A night of three repeats in one results folder: a splat in the first
// repeat and a low value in the second are found although the third, the
// newest run, is clean; each once, from its own run.
TEST(LastResultsRegressions, EveryRepeatOfTheNewestFolderIsJudged) {
  std::vector<StoredRun> runs;
  for (int day = 1; day <= 4; ++day) {
    for (int r = 0; r < 3; ++r) {
      StoredRun x = run(day, 500 + r);
      x.results_dir = fmt::format("/srv/nightly/{}", day);
      x.run_dir = fmt::format("mainline/x86_64/dying-cgroup/r{}", r + 1);
      x.started = fmt::format("2026-11-{:02d}T01:0{}:00Z", day, r);
      runs.push_back(x);
    }
  }
  runs[9].reports = {{"BUG", "BUG: Bad page state", 1, false, false, ""}};
  runs[10].metrics["dying_after_loop"] = 100;
  runs[10].reports = runs[9].reports;  // the same title again: one regression
  auto series = group_series(runs);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_TRUE(find_regressions(series[0], {"dying_after_loop"}, {}).empty());  // r3 alone
  auto found = find_last_results_regressions(series[0], {"dying_after_loop"}, {});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, Regression::Kind::new_crash);
  EXPECT_EQ(found[0].run_dir, "mainline/x86_64/dying-cgroup/r1");
  EXPECT_EQ(found[1].kind, Regression::Kind::metric_out_of_band);
  EXPECT_EQ(found[1].run_dir, "mainline/x86_64/dying-cgroup/r2");
  EXPECT_EQ(found[1].band.n, 9);  // the three nights before, not r1 of this one
}

}  // namespace
}  // namespace kh
