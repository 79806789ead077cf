// The search of a bisect, without git or kernels: a pure state machine over
// the candidates between the good end and the bad end.
//
// Candidates are indexed oldest first, 0 .. n-1; the good end sits just
// before 0 and the last candidate, n-1, is the bad end (known bad). Each
// step tests the midpoint of what is still open; a skipped candidate is
// replaced by the nearest open one (above first, then below), as
// `git bisect skip` moves away from a commit it cannot test.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <vector>

#include "bisect/verdict.h"

namespace kh {

class BisectSearch {
 public:
  // `candidates` >= 1 (at least the bad end).
  explicit BisectSearch(std::size_t candidates);

  // The candidate to test next, or nullopt when the search is over.
  std::optional<std::size_t> next() const;
  // Records a verdict for a candidate (from next(), or any open one).
  void record(std::size_t index, StepVerdict verdict);

  // When the search is over: the candidates that can be the first bad one,
  // oldest first. One when it is known; with skips in the way, the skipped
  // candidates just before the first known bad one, and that one (what
  // `git bisect` prints as "There are only 'skip'ped commits left").
  std::vector<std::size_t> first_bad() const;

 private:
  long lo_ = -1;    // last known good (-1: the good end)
  std::size_t hi_;  // first known bad
  std::set<std::size_t> skipped_;
};

}  // namespace kh
