// How sure compare is: bootstrap intervals, repeats that would settle a
// change, and a headline that never contradicts the table.
#include "report/compare_confidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "report/compare_model.h"
#include "report/compare_render.h"

namespace kh {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(BootstrapChange, AClearDropHasAnIntervalBelowZero) {
  std::vector<double> a = {2000, 2000, 2000}, b = {30, 19, 41};
  ChangeInterval ci = bootstrap_change(a, b);
  EXPECT_EQ(ci.resamples, 2000);
  EXPECT_DOUBLE_EQ(ci.level, 0.95);
  EXPECT_TRUE(ci.excludes_zero());
  // Every resampled median of b lies in [19, 41]: the change in
  // [-99.05 %, -97.95 %].
  EXPECT_GE(ci.low, (19 - 2000) / 2000.0);
  EXPECT_LE(ci.high, (41 - 2000) / 2000.0);
  EXPECT_LT(ci.low, ci.high);
}

TEST(BootstrapChange, ConstantSamplesGiveAPoint) {
  std::vector<double> a = {4, 4, 4, 4}, b = {5, 5, 5};
  ChangeInterval ci = bootstrap_change(a, b);
  EXPECT_DOUBLE_EQ(ci.low, 0.25);
  EXPECT_DOUBLE_EQ(ci.high, 0.25);
}

TEST(BootstrapChange, OverlappingNoiseIncludesZeroAndIsDeterministic) {
  std::vector<double> a = {1.1, 1.3, 0.9, 1.2, 1.0}, b = {1.2, 0.95, 1.25, 1.05, 1.15};
  ChangeInterval ci = bootstrap_change(a, b);
  EXPECT_FALSE(ci.excludes_zero());
  ChangeInterval again = bootstrap_change(a, b);
  EXPECT_EQ(ci.low, again.low);
  EXPECT_EQ(ci.high, again.high);
}

TEST(BootstrapChange, AnEmptySampleHasNoInterval) {
  std::vector<double> a = {1, 2}, none;
  EXPECT_TRUE(std::isnan(bootstrap_change(a, none).low));
}

TEST(RepeatsToSettle, ThreeAndThreeDisjointNeedFour) {
  // Mann–Whitney's smallest p: 0.1 for 3 + 3, 0.029 for 4 + 4.
  std::vector<double> a = {2000, 2000, 2000}, b = {30, 19, 41};
  EXPECT_EQ(repeats_to_settle(a, b, 0.05, 1e-6), 4);
}

TEST(RepeatsToSettle, ASmallEffectNeedsManyMore) {
  // d = 1 (means 0 and 1, sd 1): 2·(1.96 + 0.84)² ≈ 15.7 -> 16 runs a side.
  std::vector<double> a = {-1, 0, 1}, b = {0, 1, 2};
  EXPECT_EQ(repeats_to_settle(a, b, 0.05, 0.3), 16);
  EXPECT_EQ(repeats_to_settle(a, a, 0.05, 1.0), 0);  // nothing to settle
}

RunResult run(const std::string& kernel, int repeat, double dying, double file_kb, double seconds) {
  RunResult r;
  r.kernel.name = kernel;
  r.kernel.release = "6.1.192";
  r.arch = "x86_64";
  r.workload = "dying-cgroup";
  r.workload_name = "dying-cgroup";
  r.key_metric = "dying_after_loop";
  r.repeat = repeat;
  r.params = {{"iterations", "2000"}};
  r.outcome = Outcome::pass;
  r.metrics = {{"dying_after_loop", dying},
               {"parent_file_kb", file_kb},
               {"loop_seconds", seconds},
               {"iterations", 2000}};
  return r;
}

// The report: --repeats 3, the key metric 2000 -> 30 with ranges
// disjoint and Welch p ~ 1e-6, and the headline said "No significant
// change".
std::vector<RunResult> three_a_side() {
  return {run("linux-6.1", 0, 2000, 8000, 2.3),      run("linux-6.1", 1, 2000, 8000, 2.9),
          run("linux-6.1", 2, 2000, 8000, 1.5),      run("reclaim-on-offline", 0, 30, 80, 2.7),
          run("reclaim-on-offline", 1, 19, 36, 3.7), run("reclaim-on-offline", 2, 41, 124, 2.6)};
}

TEST(CompareHeadline, TooFewRunsSaysWhatTheDataShowAndWhatWouldSettleIt) {
  Comparison c = compare_runs(three_a_side());
  const CompareGroup& g = c.groups[0];
  const MetricCell& dying = g.metrics[0].cells[1];
  EXPECT_FALSE(dying.significant);
  EXPECT_EQ(dying.call, CompareCall::too_few_runs);
  EXPECT_TRUE(dying.ranges_disjoint);
  EXPECT_EQ(dying.repeats_needed, 4);
  std::string h = compare_headline(c, g);
  EXPECT_THAT(h, Not(HasSubstr("No significant change")));
  EXPECT_THAT(h, HasSubstr("Too few runs to call against linux-6.1 (3 + 3 runs: Mann-Whitney "
                           "cannot reach p < 0.05), but the data show: dying_after_loop (key) "
                           "-98.5% (2000 → 30; 95 % CI "));
  EXPECT_THAT(h, HasSubstr("ranges disjoint, Welch p "));
  EXPECT_THAT(h, HasSubstr("parent_file_kb -99.0% (8000 → 80; 95 % CI "));
  EXPECT_THAT(h, HasSubstr("4 repeats a kernel would settle it."));
  // loop_seconds overlaps: not in the headline.
  EXPECT_THAT(h, Not(HasSubstr("loop_seconds")));
  // The table agrees with it, row by row.
  std::string md = compare_markdown(c);
  EXPECT_THAT(md, HasSubstr("too few runs (4 would settle it)"));
  EXPECT_THAT(md, HasSubstr("| loop_seconds |"));
}

TEST(CompareHeadline, NoChangeOnlyWhenTheDataShowNone) {
  std::vector<RunResult> runs;
  double a[] = {1.1, 1.3, 0.9, 1.2, 1.0}, b[] = {1.2, 0.95, 1.25, 1.05, 1.15};
  for (int i = 0; i < 5; ++i) {
    runs.push_back(run("a", i, 100, 10, a[i]));
    runs.push_back(run("b", i, 100, 10, b[i]));
  }
  Comparison c = compare_runs(runs);
  EXPECT_EQ(compare_headline(c, c.groups[0]), "No significant change against a.");
}

}  // namespace
}  // namespace kh
