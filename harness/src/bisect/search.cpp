#include "bisect/search.h"

#include <stdexcept>

namespace kh {

BisectSearch::BisectSearch(std::size_t candidates) : hi_(candidates - 1) {
  if (candidates == 0) throw std::invalid_argument("BisectSearch: no candidates");
}

std::optional<std::size_t> BisectSearch::next() const {
  long lo = lo_, hi = static_cast<long>(hi_);
  if (hi - lo <= 1) return std::nullopt;
  long mid = lo + (hi - lo) / 2;
  // mid, mid+1, mid-1, mid+2, ... within (lo, hi), skipping the skipped.
  for (long d = 0; d < hi - lo; ++d) {
    for (long c : {mid + d, mid - d}) {
      if (c <= lo || c >= hi) continue;
      if (!skipped_.count(static_cast<std::size_t>(c))) return static_cast<std::size_t>(c);
    }
  }
  return std::nullopt;
}

void BisectSearch::record(std::size_t index, StepVerdict verdict) {
  long i = static_cast<long>(index);
  if (i <= lo_ || i >= static_cast<long>(hi_)) return;  // outside what is open: nothing learnt
  switch (verdict) {
    case StepVerdict::good:
      lo_ = i;
      break;
    case StepVerdict::bad:
      hi_ = index;
      break;
    case StepVerdict::skip:
      skipped_.insert(index);
      break;
  }
}

std::vector<std::size_t> BisectSearch::first_bad() const {
  std::vector<std::size_t> out;
  for (std::size_t s : skipped_)
    if (static_cast<long>(s) > lo_ && s < hi_) out.push_back(s);
  out.push_back(hi_);
  return out;
}

}  // namespace kh
