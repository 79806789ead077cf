#include "analysis/assertions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kh {
namespace {

using ::testing::HasSubstr;

const Metrics kMetrics = {
    {"before.nr_dying_descendants", 0},
    {"after.nr_dying_descendants", 500},
    {"settled.nr_dying_descendants", 3},
    {"settled.memstat.file", 4096},
    {"after.tainted", 0},
    {"loop_seconds", 2.31},
};

TEST(AssertionsTest, EvaluatesDottedNames) {
  Result<double> v = evaluate("after.nr_dying_descendants - before.nr_dying_descendants", kMetrics);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, 500);
  Result<double> f = evaluate("settled.memstat.file / 4096 + 0.5", kMetrics);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_DOUBLE_EQ(*f, 1.5);
}

TEST(AssertionsTest, ComparisonLogicalMinMax) {
  EXPECT_EQ(*evaluate("settled.nr_dying_descendants <= 10", kMetrics), 1);
  EXPECT_EQ(*evaluate("settled.nr_dying_descendants == 0", kMetrics), 0);
  EXPECT_EQ(*evaluate("after.tainted == 0 && loop_seconds < 5", kMetrics), 1);
  EXPECT_EQ(*evaluate("after.tainted != 0 || loop_seconds > 5", kMetrics), 0);
  EXPECT_EQ(*evaluate("min(after.nr_dying_descendants, 7)", kMetrics), 7);
  EXPECT_EQ(*evaluate("max(settled.nr_dying_descendants, 1, 2)", kMetrics), 3);
}

TEST(AssertionsTest, AComparisonReportsItsLeftSide) {
  EXPECT_EQ(comparison_left_side("dying_after_loop <= 0.1 * iterations"), "dying_after_loop");
  EXPECT_EQ(comparison_left_side("(a + b) * 2 != c"), "(a + b) * 2");
  EXPECT_EQ(comparison_left_side("max(a, b) > 3"), "max(a, b)");
  EXPECT_EQ(comparison_left_side("a > 1 && b < 2"), "");
  EXPECT_EQ(comparison_left_side("a < b < c"), "");
  EXPECT_EQ(comparison_left_side("a"), "");
  Metrics m{{"failed", 5}, {"iterations", 100}};
  auto r = evaluate_assertions({"failed == 0", "failed * 2 <= iterations", "failed"}, m);
  EXPECT_EQ(r[0].left, "failed");
  EXPECT_EQ(r[0].left_value, 5);
  EXPECT_EQ(r[1].left_value, 10);
  EXPECT_TRUE(r[1].passed);
  EXPECT_EQ(r[2].left, "");
}

TEST(AssertionsTest, UnknownNameIsAnErrorNamingIt) {
  Result<double> v = evaluate("after.nr_dying_descendants - after.nr_dyin", kMetrics);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, "unknown name 'after.nr_dyin'");
}

TEST(AssertionsTest, SyntaxErrorHasMessageAndPosition) {
  Result<double> v = evaluate("after.tainted == ", kMetrics);
  ASSERT_FALSE(v);
  EXPECT_THAT(v.error().message, HasSubstr("position"));
  Result<double> w = evaluate("loop_seconds < (1", kMetrics);
  ASSERT_FALSE(w);
  EXPECT_THAT(w.error().message, HasSubstr("loop_seconds < (1"));
  EXPECT_FALSE(evaluate("", kMetrics));
}

TEST(AssertionsTest, NanIsAnError) {
  EXPECT_FALSE(evaluate("after.tainted / 0 * 0", kMetrics));
}

TEST(AssertionsTest, DeriveMetricsInOrderCollectingErrors) {
  Metrics m = kMetrics;
  std::vector<std::string> errors =
      derive_metrics({{"dying_after", "after.nr_dying_descendants - before.nr_dying_descendants"},
                      {"broken", "after.missing + 1"},
                      {"dying_ratio", "settled.nr_dying_descendants / dying_after"},
                      {"uses_broken", "broken * 2"}},
                     m);
  EXPECT_EQ(m.at("dying_after"), 500);
  EXPECT_DOUBLE_EQ(m.at("dying_ratio"), 3.0 / 500);
  EXPECT_EQ(m.count("broken"), 0u);
  EXPECT_EQ(m.count("uses_broken"), 0u);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "broken: unknown name 'after.missing'");
  EXPECT_EQ(errors[1], "uses_broken: unknown name 'broken'");
}

TEST(AssertionsTest, EvaluateAssertions) {
  std::vector<AssertionResult> r = evaluate_assertions(
      {"settled.nr_dying_descendants <= 10", "settled.nr_dying_descendants == 0",
       "settled.nr_dying_descendant == 0", "after.nr_dying_descendants"},
      kMetrics);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_TRUE(r[0].passed);
  EXPECT_EQ(r[0].value, 1);
  EXPECT_TRUE(r[0].error.empty());
  EXPECT_FALSE(r[1].passed);
  EXPECT_EQ(r[1].value, 0);
  EXPECT_TRUE(r[1].error.empty());
  EXPECT_FALSE(r[2].passed);
  EXPECT_EQ(r[2].error, "unknown name 'settled.nr_dying_descendant'");
  EXPECT_EQ(r[2].expression, "settled.nr_dying_descendant == 0");
  EXPECT_TRUE(r[3].passed);  // nonzero holds
  EXPECT_EQ(r[3].value, 500);
}

// A kernel whose /proc/cgroups has no memory row gives no
// *.memory_num_cgroups: the metric built on it is listed as missing with
// why, one built on that one too, and an assertion over it says so instead
// of "unknown name".
TEST(AssertionsTest, MetricsTheKernelCannotProvideAreListedNotDropped) {
  Metrics m = {{"before.nr_dying_descendants", 0}, {"after.nr_dying_descendants", 7}};
  MissingMetrics missing;
  auto errors =
      derive_metrics({{"dying", "after.nr_dying_descendants - before.nr_dying_descendants"},
                      {"added", "after.memory_num_cgroups - before.memory_num_cgroups"},
                      {"added_twice", "2 * added"}},
                     m, &missing);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(m.at("dying"), 7);
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing.at("added"),
            "needs after.memory_num_cgroups, which this kernel's snapshots did not provide");
  EXPECT_EQ(missing.at("added_twice"),
            "needs added, missing (needs after.memory_num_cgroups, "
            "which this kernel's snapshots did not provide)");
  auto r = evaluate_assertions({"dying <= 10", "added <= 10", "typo_name <= 1"}, m, missing);
  EXPECT_TRUE(r[0].passed);
  EXPECT_FALSE(r[1].passed);
  EXPECT_EQ(r[1].missing, "added");
  EXPECT_NE(r[1].error.find("metric 'added' is missing: needs after.memory_num_cgroups"),
            std::string::npos)
      << r[1].error;
  // A name the workload never defined is still an error of the expression.
  EXPECT_EQ(r[2].missing, "");
  EXPECT_EQ(r[2].error, "unknown name 'typo_name'");
}

}  // namespace
}  // namespace kh
