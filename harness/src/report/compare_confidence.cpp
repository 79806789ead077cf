#include "report/compare_confidence.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "analysis/stats.h"
#include "report/compare_model.h"
#include "util/splitmix.h"

namespace kh {
namespace {

// Seeded by the data: the same samples always resample the same way (the
// interval is part of a report that must not change on a re-run).
using Resampler = SplitMix64;

void mix(std::uint64_t& h, std::span<const double> xs) {
  for (double d : xs) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    h = (h ^ bits) * 1099511628211ULL;
  }
  h = (h ^ xs.size()) * 1099511628211ULL;
}

double resampled_median(std::span<const double> xs, Resampler& r, std::vector<double>& scratch) {
  scratch.resize(xs.size());
  for (auto& v : scratch) v = xs[r.below(xs.size())];
  return median(scratch);
}

// The quantile q of sorted values, linear between neighbours.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  double pos = q * static_cast<double>(sorted.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(pos));
  std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  if (frac == 0 || sorted[lo] == sorted[hi]) return sorted[lo];
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

std::string interval_text(const ChangeInterval& ci) {
  if (std::isnan(ci.low)) return "";
  if (ci.low == ci.high)
    return fmt::format("; {:.0f} % CI {}", ci.level * 100, format_change(ci.low));
  return fmt::format("; {:.0f} % CI {} to {}", ci.level * 100, format_change(ci.low),
                     format_change(ci.high));
}

}  // namespace

std::string_view to_string(CompareCall c) {
  switch (c) {
    case CompareCall::no_change:
      return "no_change";
    case CompareCall::changed:
      return "changed";
    case CompareCall::too_few_runs:
      return "too_few_runs";
  }
  return "?";
}

ChangeInterval bootstrap_change(std::span<const double> a, std::span<const double> b, double level,
                                int resamples) {
  ChangeInterval ci;
  ci.level = level;
  ci.resamples = resamples;
  if (a.empty() || b.empty() || resamples < 1) {
    ci.low = ci.high = std::nan("");
    return ci;
  }
  std::uint64_t seed = 1469598103934665603ULL;
  mix(seed, a);
  mix(seed, b);
  Resampler r{seed};
  std::vector<double> changes, scratch;
  changes.reserve(static_cast<std::size_t>(resamples));
  for (int i = 0; i < resamples; ++i) {
    double ma = resampled_median(a, r, scratch);
    double mb = resampled_median(b, r, scratch);
    changes.push_back(relative_change(ma, mb));
  }
  std::sort(changes.begin(), changes.end());
  ci.low = quantile(changes, (1 - level) / 2);
  ci.high = quantile(changes, (1 + level) / 2);
  return ci;
}

int repeats_to_settle(std::span<const double> a, std::span<const double> b, double alpha,
                      double welch_p) {
  if (a.empty() || b.empty()) return 0;
  double diff = mean(b) - mean(a);
  if (diff == 0) return 0;
  int n = static_cast<int>(std::max(a.size(), b.size())) + 1;
  while (n < 1000 &&
         mann_whitney_min_p(static_cast<std::size_t>(n), static_cast<std::size_t>(n)) >= alpha)
    ++n;
  if (!(welch_p < alpha)) {
    double va = a.size() > 1 ? sample_variance(a) : 0, vb = b.size() > 1 ? sample_variance(b) : 0;
    double sd = std::sqrt((va + vb) / 2);
    if (sd > 0) {
      boost::math::normal z;
      double k = boost::math::quantile(z, 1 - alpha / 2) + boost::math::quantile(z, 0.8);
      double d = std::fabs(diff) / sd;
      n = std::max(n, static_cast<int>(std::ceil(2 * k * k / (d * d))));
    }
  }
  return n;
}

std::string compare_headline(const Comparison& c, const CompareGroup& g) {
  const std::size_t nk = c.kernels.size();
  std::vector<std::string> changed, too_few;
  int repeats = 0;
  std::size_t runs_base = 0, runs_other = 0;
  for (const MetricRow& m : g.metrics) {
    if (!m.shown) continue;
    for (std::size_t k = 1; k < nk; ++k) {
      const MetricCell& cell = m.cells[k];
      if (cell.call == CompareCall::no_change) continue;
      std::string item =
          fmt::format("{}{} {} ({} → {}{}{}", m.name, m.name == g.key_metric ? " (key)" : "",
                      format_change(cell.change), format_value(m.cells[0].summary.median),
                      format_value(cell.summary.median), nk > 2 ? ", " + c.kernels[k] : "",
                      interval_text(cell.interval));
      if (cell.call == CompareCall::changed) {
        changed.push_back(item + ")");
        continue;
      }
      std::vector<std::string> evidence;
      if (cell.ranges_disjoint) evidence.push_back("ranges disjoint");
      if (cell.welch.p_value < c.alpha)
        evidence.push_back("Welch p " + format_p(cell.welch.p_value));
      too_few.push_back(
          item + (evidence.empty() ? "" : fmt::format("; {}", fmt::join(evidence, ", "))) + ")");
      repeats = std::max(repeats, cell.repeats_needed);
      runs_base = std::max(runs_base, m.cells[0].values.size());
      runs_other = std::max(runs_other, cell.values.size());
    }
  }
  std::string out;
  if (!changed.empty())
    out +=
        fmt::format("Significant changes against {}: {}.", c.kernels[0], fmt::join(changed, "; "));
  if (!too_few.empty()) {
    if (!out.empty()) out += " ";
    out += fmt::format(
        "Too few runs to call against {} ({} + {} runs: Mann-Whitney cannot reach p < {}), but "
        "the data show: {}. {} repeats a kernel would settle it.",
        c.kernels[0], runs_base, runs_other, c.alpha, fmt::join(too_few, "; "), repeats);
  }
  if (out.empty()) out = fmt::format("No significant change against {}.", c.kernels[0]);
  return out;
}

}  // namespace kh
