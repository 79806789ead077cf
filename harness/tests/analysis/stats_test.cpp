#include "analysis/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace kh {
namespace {

using V = std::vector<double>;

TEST(StatsTest, OrderStatistics) {
  EXPECT_EQ(median(V{3, 1, 2}), 2);
  EXPECT_EQ(median(V{4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(median(V{})));
  Summary s = summarize(V{2000, 1990, 2000, 1995, 2001});
  EXPECT_EQ(s.n, 5u);
  EXPECT_EQ(s.median, 2000);
  EXPECT_EQ(s.min, 1990);
  EXPECT_EQ(s.max, 2001);
  EXPECT_DOUBLE_EQ(s.mean, 1997.2);
  // squared deviations from 1997.2 sum to 86.8; sqrt(86.8 / 4) = 4.65833
  EXPECT_NEAR(s.stddev, 4.65833, 1e-5);
  EXPECT_EQ(summarize(V{7}).stddev, 0);
  EXPECT_TRUE(std::isnan(summarize(V{}).median));
}

TEST(StatsTest, RelativeChange) {
  EXPECT_DOUBLE_EQ(relative_change(2000, 3), -0.9985);
  EXPECT_DOUBLE_EQ(relative_change(4, 5), 0.25);
  EXPECT_DOUBLE_EQ(relative_change(-4, -2), 0.5);  // towards zero from below is up
  EXPECT_EQ(relative_change(0, 0), 0);
  EXPECT_TRUE(std::isinf(relative_change(0, 1)) && relative_change(0, 1) > 0);
  EXPECT_TRUE(std::isinf(relative_change(0, -1)) && relative_change(0, -1) < 0);
}

// Wikipedia's first Welch's t-test example (two samples of 15); t, the
// Welch–Satterthwaite df and p recomputed by hand in python3 (p by Simpson
// integration of the t density): t = -2.4554, df = 24.989, p = 0.021378.
TEST(StatsTest, WelchMatchesTheTextbookExample) {
  V a1 = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
  V a2 = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};
  TestResult t = welch_t_test(a1, a2);
  EXPECT_NEAR(t.statistic, -2.45536, 1e-4);
  EXPECT_NEAR(t.df, 24.9885, 1e-3);
  EXPECT_NEAR(t.p_value, 0.021378, 1e-5);
  // Symmetric: the order of the samples flips only the sign of t.
  TestResult back = welch_t_test(a2, a1);
  EXPECT_NEAR(back.statistic, 2.45536, 1e-4);
  EXPECT_NEAR(back.p_value, t.p_value, 1e-12);
}

// Unequal sizes and variances: {1,2,3,4} vs {2,4,6,8,10}; by hand
// t = -2.25144, df = 5.5208, p = 0.069134.
TEST(StatsTest, WelchUnequalVariances) {
  TestResult t = welch_t_test(V{1, 2, 3, 4}, V{2, 4, 6, 8, 10});
  EXPECT_NEAR(t.statistic, -2.25144, 1e-4);
  EXPECT_NEAR(t.df, 5.52079, 1e-4);
  EXPECT_NEAR(t.p_value, 0.069134, 1e-5);
}

TEST(StatsTest, WelchDegenerateSamples) {
  EXPECT_TRUE(std::isnan(welch_t_test(V{1}, V{2, 3}).p_value));
  // Two constant samples: no noise; different means are a certain
  // difference, equal ones none.
  TestResult differ = welch_t_test(V{500, 500, 500}, V{0, 0, 0});
  EXPECT_EQ(differ.p_value, 0);
  EXPECT_TRUE(std::isinf(differ.statistic));
  EXPECT_EQ(welch_t_test(V{3, 3}, V{3, 3, 3}).p_value, 1);
  // One constant sample against a noisy one is an ordinary test.
  TestResult one = welch_t_test(V{500, 500, 500}, V{0, 2, 1});
  EXPECT_GT(one.p_value, 0);
  EXPECT_LT(one.p_value, 1e-4);
}

// Exact p for complete separation is 2 / C(n1 + n2, n1): 2/20 for 3 + 3,
// 2/252 for 5 + 5 (every split enumerated in python3 by itertools agrees).
TEST(StatsTest, MannWhitneyExactSmallSamples) {
  TestResult t3 = mann_whitney_u(V{1, 2, 3}, V{4, 5, 6});
  EXPECT_TRUE(t3.exact);
  EXPECT_EQ(t3.statistic, 0);
  EXPECT_NEAR(t3.p_value, 0.1, 1e-12);
  TestResult t5 = mann_whitney_u(V{6, 7, 8, 9, 10}, V{1, 2, 3, 4, 5});
  EXPECT_EQ(t5.statistic, 25);
  EXPECT_NEAR(t5.p_value, 2.0 / 252, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(4, 4), 2.0 / 70, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(5, 5), 2.0 / 252, 1e-12);
}

// Ties: the permutation distribution is counted with the midranks as they
// are. Brute force over all 126 splits in python3: U = 2.5, p = 11/126.
TEST(StatsTest, MannWhitneyExactWithTies) {
  TestResult t = mann_whitney_u(V{1, 2, 2, 3}, V{2, 3, 4, 4, 5});
  EXPECT_TRUE(t.exact);
  EXPECT_EQ(t.statistic, 2.5);
  EXPECT_NEAR(t.p_value, 0.0873015873, 1e-9);
  // The dying-cgroup shape: a constant base (every run leaks all 500)
  // against a patched kernel near zero, ties inside one side only.
  TestResult dying = mann_whitney_u(V{500, 500, 500, 500, 500}, V{0, 2, 1, 0, 3});
  EXPECT_EQ(dying.statistic, 25);
  EXPECT_NEAR(dying.p_value, 2.0 / 252, 1e-12);
  TestResult same = mann_whitney_u(V{4, 4}, V{4, 4, 4});
  EXPECT_EQ(same.p_value, 1);
  EXPECT_TRUE(std::isnan(mann_whitney_u(V{}, V{1}).p_value));
}

// 12 + 11 values (C(23, 12) = 1352078 splits: above the exact limit), one
// tie (4.5). By hand: U = 35.5, sigma^2 = 12*11/12 * (24 - 6/(23*22)),
// z = (|35.5 - 66| - 0.5) / sigma, p = erfc(z / sqrt 2) = 0.064772.
TEST(StatsTest, MannWhitneyNormalApproximationWithTieCorrection) {
  V a = {1.1, 2.2, 3.1, 4.5, 5.0, 5.5, 6.1, 7.2, 8.0, 9.9, 10.5, 11.0};
  V b = {3.0, 4.5, 6.6, 7.7, 8.8, 9.1, 10.0, 12.0, 13.3, 14.1, 15.0};
  TestResult t = mann_whitney_u(a, b);
  EXPECT_FALSE(t.exact);
  EXPECT_EQ(t.statistic, 35.5);
  EXPECT_NEAR(t.p_value, 0.0647720, 1e-6);
}

}  // namespace
}  // namespace kh
