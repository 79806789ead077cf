// How sure a compare verdict is: the effect (the relative change of the
// medians) with a bootstrap confidence interval, what a cell's data show
// when the significance rule cannot decide for lack of runs, how many
// repeats would settle it, and the headline built from those, so the
// headline never says "no change" over a table that shows one.
//
// Pure functions over plain vectors and the compare model.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace kh {

struct Comparison;
struct CompareGroup;

// A percentile bootstrap interval of (median(b) - median(a)) / |median(a)|:
// both samples resampled with replacement `resamples` times, the interval
// between the (1-level)/2 and (1+level)/2 quantiles of the resampled
// changes. The resampling is seeded by the values, so the same data give
// the same interval. NaN bounds when a sample is empty; ±inf where a
// resampled base median is 0.
struct ChangeInterval {
  double low = 0, high = 0;
  double level = 0.95;
  int resamples = 0;
  bool excludes_zero() const { return low > 0 || high < 0; }
};
ChangeInterval bootstrap_change(std::span<const double> a, std::span<const double> b,
                                double level = 0.95, int resamples = 2000);

// What a compared cell says.
enum class CompareCall {
  no_change,     // the rule says no, and enough runs for it to say yes
  changed,       // significant by the rule (both tests)
  too_few_runs,  // not significant, but the rule could not be with these
                 // runs (Mann–Whitney's smallest p is >= alpha) while the
                 // data show a change (ranges disjoint, or Welch p < alpha,
                 // or the bootstrap interval excludes 0)
};
std::string_view to_string(CompareCall c);

// Repeats a kernel (the same on both sides) for the rule to decide a
// change like the observed one: Mann–Whitney's smallest p below alpha,
// and, unless Welch already is below alpha, the runs a two-sided t-test
// needs for 80 % power at the observed standardised effect
// (2·(z_{1−alpha/2} + z_{0.8})² / d²). At least one more than now; 0 when
// there is no effect to detect (equal means).
int repeats_to_settle(std::span<const double> a, std::span<const double> b, double alpha,
                      double welch_p);

// The group's headline, one paragraph: the significant changes with their
// intervals; then, if any, the changes the data show that too few runs
// keep from the rule, with the repeats that would settle them; "No
// significant change against BASE." only when neither.
std::string compare_headline(const Comparison& c, const CompareGroup& g);

}  // namespace kh
