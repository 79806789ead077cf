// Change points in a metric's series: *where* a metric moved to a new
// level and stayed there, where the band rule (regression.h) only asks
// whether the newest run is out of line. A step that arrived three nights
// ago is a change point; one wild night is not (the new level must last
// min_size runs).
//
// The detector is e-divisive means (Matteson & James 2014, as Hunter /
// Apache Otava use it) by binary segmentation:
//   1. In a segment, every split tau (each side at least min_size values)
//      gets the energy statistic
//        Q(tau) = n1·n2/(n1+n2) · (2·mean|x−y| − mean|x−x'| − mean|y−y'|)
//      over the values left (x) and right (y) of tau; the candidate is the
//      split with the largest Q.
//   2. Its significance is a permutation test: the segment's values are
//      shuffled `permutations` times and the largest Q of each shuffle is
//      compared with the candidate's; p = (1 + #shuffles at least as
//      large) / (1 + permutations). The shuffles come from a fixed-seed
//      generator (seeded by the segment's values), so the same series
//      always gives the same answer: a pure function.
//   3. p < alpha: a change point; both sides are searched again.
// Under pure noise the first test is false with probability alpha, and the
// others only run after a rejection, so alpha bounds the false alerts per
// series (the bench in harness/bench/changepoint_bench.cpp measures it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kh {

struct ChangePointRule {
  double alpha = 0.01;          // significance of each split
  int permutations = 499;       // shuffles per test: p is at least 1/500
  std::size_t min_size = 3;     // values each side of a split: a level must last this long
  std::size_t max_points = 10;  // stop after this many change points
};

struct ChangePoint {
  std::size_t index = 0;  // the first value of the new level
  double p_value = 1;     // permutation p of the split
  // The levels either side, each over its own segment (up to the
  // neighbouring change points): medians and the relative change.
  double before = 0, after = 0;
  double change = 0;  // (after - before) / |before|; ±inf from 0
  std::size_t n_before = 0, n_after = 0;
};

// Change points of `values` (oldest first), by index. Fewer than
// 2·min_size values: none. Non-finite values must be removed by the caller.
std::vector<ChangePoint> find_change_points(const std::vector<double>& values,
                                            const ChangePointRule& rule = {});

// The energy statistic Q(tau) of every split of `values` (the candidate
// search of step 1), for tests: out[tau] for min_size <= tau <=
// n - min_size, 0 elsewhere.
std::vector<double> energy_statistics(const std::vector<double>& values, std::size_t min_size);

}  // namespace kh
