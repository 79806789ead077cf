#include "bisect/search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace kh {
namespace {

// Runs the search against a history where candidates >= first_bad are bad
// and those in `skip` cannot be tested. Returns the tested indices.
std::vector<std::size_t> simulate(BisectSearch& s, std::size_t first_bad,
                                  const std::set<std::size_t>& skip = {}) {
  std::vector<std::size_t> tested;
  while (auto i = s.next()) {
    tested.push_back(*i);
    if (tested.size() > 100) break;
    s.record(*i, skip.count(*i)    ? StepVerdict::skip
                 : *i >= first_bad ? StepVerdict::bad
                                   : StepVerdict::good);
  }
  return tested;
}

TEST(BisectSearch, FindsEveryFirstBadInAtMostCeilLog2Steps) {
  for (std::size_t n = 1; n <= 33; ++n) {
    for (std::size_t bad = 0; bad < n; ++bad) {
      BisectSearch s(n);
      auto tested = simulate(s, bad);
      ASSERT_EQ(s.first_bad(), std::vector<std::size_t>{bad}) << "n=" << n << " bad=" << bad;
      // n candidates, the last known bad: n-1 open, ceil(log2(n)) steps.
      EXPECT_LE(tested.size(), static_cast<std::size_t>(std::ceil(std::log2(n))))
          << "n=" << n << " bad=" << bad;
      for (auto i : tested) EXPECT_LT(i, n - 1) << "the bad end is never retested";
    }
  }
}

TEST(BisectSearch, OneCandidateIsTheBadEndWithoutASearch) {
  BisectSearch s(1);
  EXPECT_FALSE(s.next());
  EXPECT_EQ(s.first_bad(), std::vector<std::size_t>{0});
}

// The selftest-bisect fixture: 9 commits, 0004 (index 3) does not build,
// 0007 (index 6) is the first bad one.
TEST(BisectSearch, SkipsABuildBreakerAndTriesItsNeighbourAbove) {
  BisectSearch s(9);
  auto tested = simulate(s, 6, {3});
  EXPECT_EQ(tested, (std::vector<std::size_t>{3, 4, 6, 5}));
  EXPECT_EQ(s.first_bad(), std::vector<std::size_t>{6});
}

TEST(BisectSearch, NeighbourBelowWhenAboveIsSkippedToo) {
  BisectSearch s(9);
  auto tested = simulate(s, 2, {3, 4});
  // 3 skip, 4 skip, 2 bad, then 0..1.
  EXPECT_EQ(tested.front(), 3u);
  EXPECT_EQ(tested[1], 4u);
  EXPECT_EQ(tested[2], 2u);
  EXPECT_EQ(s.first_bad(), std::vector<std::size_t>{2});
}

TEST(BisectSearch, ASkippedFirstBadLeavesTheCandidatesLikeGitBisect) {
  BisectSearch s(9);
  simulate(s, 5, {5});
  // 5 cannot be built, 6 is bad, 4 good: the first bad is 5 or 6.
  EXPECT_EQ(s.first_bad(), (std::vector<std::size_t>{5, 6}));
}

TEST(BisectSearch, AllSkippedLeavesEveryCandidate) {
  BisectSearch s(5);
  auto tested = simulate(s, 4, {0, 1, 2, 3});
  EXPECT_EQ(tested.size(), 4u);
  EXPECT_EQ(s.first_bad(), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(BisectSearch, AVerdictOutsideTheOpenRangeChangesNothing) {
  BisectSearch s(9);
  s.record(6, StepVerdict::bad);
  s.record(7, StepVerdict::good);  // after a known bad: ignored
  auto n = s.next();
  ASSERT_TRUE(n);
  EXPECT_LT(*n, 6u);
}

}  // namespace
}  // namespace kh
