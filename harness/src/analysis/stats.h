// Statistics for comparing repeated runs: order statistics, relative
// change, and two two-sided tests of "these samples come from the same
// distribution" — Welch's t-test (means, unequal variances) and the
// Mann–Whitney U test (ranks). Pure functions over plain vectors; the
// distributions come from Boost.Math.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace kh {

// NaN for an empty sample.
double median(std::span<const double> xs);
double mean(std::span<const double> xs);
// Sample variance (n - 1 in the denominator); NaN below two values.
double sample_variance(std::span<const double> xs);

struct Summary {
  std::size_t n = 0;
  double median = 0, min = 0, max = 0, mean = 0;
  double stddev = 0;  // sample standard deviation; 0 for n < 2
};
// All fields NaN (n = 0) for an empty sample.
Summary summarize(std::span<const double> xs);

// (value - base) / |base|: +0.25 is 25 % more than the base. A zero base
// gives 0 when value is 0 too, else +inf or -inf (a change from nothing
// has no finite ratio; the report prints it as such).
double relative_change(double base, double value);

struct TestResult {
  double statistic = 0;  // t for Welch; U of the first sample for Mann–Whitney
  double p_value = 1;    // two-sided; NaN when the test cannot be made
  double df = 0;         // Welch–Satterthwaite degrees of freedom (Welch only)
  bool exact = false;    // Mann–Whitney: exact permutation p rather than normal approximation
  std::string note;      // why p is NaN, 0 or 1 without a distribution ("n < 2", ...)
};

// Welch's unequal-variances t-test, two-sided. Needs n >= 2 in both
// samples (else p = NaN). When both samples have zero variance there is no
// t distribution to consult: p = 1 if the means are equal, else 0 (two
// constant, different samples: no noise at all to explain the difference).
TestResult welch_t_test(std::span<const double> a, std::span<const double> b);

// Mann–Whitney U test, two-sided, ties given midranks. U is the count of
// pairs (x from a, y from b) with x > y, plus half the ties.
// - Exact when the pooled sample can be split into the two group sizes in
//   at most kExactMannWhitneySplits ways (10 + 10 is 184756): every split
//   is counted, by its rank sum, with the pooled values as they are, ties
//   included, and p = the share of splits whose U is at least as far from
//   n1*n2/2 as the observed one. This is the permutation distribution,
//   valid with ties.
// - Otherwise the normal approximation with the tie correction of the
//   variance and a continuity correction of 0.5.
// Needs n >= 1 in both samples (else p = NaN). Every value tied: p = 1.
constexpr std::size_t kExactMannWhitneySplits = 200000;
TestResult mann_whitney_u(std::span<const double> a, std::span<const double> b);

// The smallest two-sided p the exact Mann–Whitney test can give for group
// sizes n1 and n2 (no ties): 2 / C(n1 + n2, n1). 0.1 for 3 + 3, 0.029 for
// 4 + 4, 0.0079 for 5 + 5: below 4 repeats a kernel it cannot reach 0.05.
double mann_whitney_min_p(std::size_t n1, std::size_t n2);

}  // namespace kh
