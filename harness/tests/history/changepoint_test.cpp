#include "history/changepoint.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kh {
namespace {

// A fixed, noisy-looking sequence in [-0.5, 0.5] (no generator: the tests
// must not depend on one).
std::vector<double> wobble(std::size_t n, double level) {
  std::vector<double> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back(level + 0.5 * std::sin(static_cast<double>(i) * 2.399963) *
                            std::cos(static_cast<double>(i) * 0.7));
  return v;
}

std::vector<double> concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(ChangePoint, StepFoundAtTheFirstRunOfTheNewLevel) {
  auto v = concat(wobble(12, 100), wobble(8, 103));  // +3 on noise of about 0.3
  auto cps = find_change_points(v);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].index, 12u);
  EXPECT_LT(cps[0].p_value, 0.01);
  EXPECT_NEAR(cps[0].before, 100, 0.5);
  EXPECT_NEAR(cps[0].after, 103, 0.5);
  EXPECT_NEAR(cps[0].change, 0.03, 0.006);
  EXPECT_EQ(cps[0].n_before, 12u);
  EXPECT_EQ(cps[0].n_after, 8u);
}

TEST(ChangePoint, NoiseAloneHasNone) {
  EXPECT_TRUE(find_change_points(wobble(30, 50)).empty());
}

TEST(ChangePoint, OneWildNightIsNotAChangePoint) {
  auto v = wobble(20, 100);
  v[9] = 130;
  EXPECT_TRUE(find_change_points(v).empty());
}

TEST(ChangePoint, ANewLevelMustLastMinSizeRuns) {
  // Two runs at the new level: not yet a change point (the band rule is
  // what flags the newest night); three: one.
  auto two = concat(wobble(15, 100), {200, 201});
  EXPECT_TRUE(find_change_points(two).empty());
  auto three = concat(wobble(15, 100), {200, 201, 199});
  auto cps = find_change_points(three);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].index, 15u);
}

TEST(ChangePoint, TwoStepsBothFoundWithTheirOwnLevels) {
  auto v = concat(concat(wobble(10, 10), wobble(10, 20)), wobble(10, 5));
  auto cps = find_change_points(v);
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps[0].index, 10u);
  EXPECT_EQ(cps[1].index, 20u);
  EXPECT_NEAR(cps[0].before, 10, 0.5);
  EXPECT_NEAR(cps[0].after, 20, 0.5);
  EXPECT_NEAR(cps[1].before, 20, 0.5);
  EXPECT_NEAR(cps[1].after, 5, 0.5);
  EXPECT_EQ(cps[1].n_before, 10u);
}

TEST(ChangePoint, FromZeroIsAnInfiniteChange) {
  std::vector<double> v(10, 0.0);
  for (int i = 0; i < 6; ++i) v.push_back(4);
  auto cps = find_change_points(v);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].index, 10u);
  EXPECT_TRUE(std::isinf(cps[0].change) && cps[0].change > 0);
}

TEST(ChangePoint, DeterministicForTheSameSeries) {
  // The permutation test draws from a generator seeded by the values: the
  // same series gives the same p every time.
  auto v = concat(wobble(8, 0), wobble(8, 1.2));
  auto a = find_change_points(v);
  auto b = find_change_points(v);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].index, b[i].index);
    EXPECT_EQ(a[i].p_value, b[i].p_value);
  }
}

TEST(ChangePoint, TooShortOrConstantSeriesHaveNone) {
  EXPECT_TRUE(find_change_points({}).empty());
  EXPECT_TRUE(find_change_points({1, 2, 3, 4, 5}).empty());  // < 2 * min_size
  EXPECT_TRUE(find_change_points(std::vector<double>(20, 7.0)).empty());
}

TEST(ChangePoint, EnergyStatisticPeaksAtTheStep) {
  auto v = concat(std::vector<double>(5, 0.0), std::vector<double>(5, 1.0));
  auto q = energy_statistics(v, 2);
  ASSERT_EQ(q.size(), 11u);
  // At tau = 5: n1 n2/(n1+n2) * (2 * 1 - 0 - 0) = 2.5 * 2 = 5.
  EXPECT_DOUBLE_EQ(q[5], 5.0);
  for (std::size_t t = 0; t < q.size(); ++t) {
    if (t != 5) {
      EXPECT_LT(q[t], q[5]) << t;
    }
  }
  EXPECT_EQ(q[1], 0.0);  // outside min_size: not computed
  EXPECT_EQ(q[9], 0.0);
}

}  // namespace
}  // namespace kh
