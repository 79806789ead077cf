#include "history/changepoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "analysis/stats.h"
#include "util/splitmix.h"

namespace kh {
namespace {

std::uint64_t seed_of(const std::vector<double>& v) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the values' bits
  for (double d : v) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; ++i) {
      h ^= (bits >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  }
  return h;
}

// The best split of `v`: (tau, Q); tau = 0 when no split is allowed.
std::pair<std::size_t, double> best_split(const std::vector<double>& v, std::size_t min_size,
                                          std::vector<double>* all = nullptr) {
  const std::size_t n = v.size();
  if (all) all->assign(n + 1, 0.0);
  if (min_size < 1) min_size = 1;
  if (n < 2 * min_size) return {0, 0.0};
  // col[k] = sum_{i<k} |v_i - v_k|, row[k] = sum_{j>k} |v_k - v_j|.
  std::vector<double> col(n, 0.0), row(n, 0.0);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double d = std::fabs(v[i] - v[j]);
      col[j] += d;
      row[i] += d;
      total += d;
    }
  double within_left = 0, within_right = total;
  std::size_t best_tau = 0;
  double best_q = -std::numeric_limits<double>::infinity();
  for (std::size_t tau = 1; tau < n; ++tau) {
    within_left += col[tau - 1];
    within_right -= row[tau - 1];
    if (tau < min_size || n - tau < min_size) continue;
    double n1 = static_cast<double>(tau), n2 = static_cast<double>(n - tau);
    double cross = total - within_left - within_right;
    double mean_cross = cross / (n1 * n2);
    double mean_left = n1 > 1 ? within_left / (n1 * (n1 - 1) / 2) : 0;
    double mean_right = n2 > 1 ? within_right / (n2 * (n2 - 1) / 2) : 0;
    double q = n1 * n2 / (n1 + n2) * (2 * mean_cross - mean_left - mean_right);
    if (all) (*all)[tau] = q;
    if (q > best_q) best_q = q, best_tau = tau;
  }
  return {best_tau, best_q};
}

// Binary segmentation over [lo, hi) of `values`: appends change points
// (indices into `values`) with their p-values.
void segment(const std::vector<double>& values, std::size_t lo, std::size_t hi,
             const ChangePointRule& rule, std::vector<ChangePoint>& out) {
  if (out.size() >= rule.max_points) return;
  std::vector<double> seg(values.begin() + static_cast<long>(lo),
                          values.begin() + static_cast<long>(hi));
  auto [tau, q] = best_split(seg, rule.min_size);
  if (tau == 0 || !(q > 0)) return;
  // Permutation test of the largest Q: stop as soon as the count makes
  // p >= alpha certain (the answer is "not significant" either way).
  SplitMix64 rng{seed_of(seg)};
  const int perms = std::max(1, rule.permutations);
  // p = (1 + c) / (1 + perms) >= alpha once c reaches this count.
  const int give_up = std::max(1, static_cast<int>(std::ceil(rule.alpha * (perms + 1) - 1 - 1e-9)));
  int at_least = 0;
  std::vector<double> shuffled = seg;
  for (int p = 0; p < perms; ++p) {
    for (std::size_t i = shuffled.size() - 1; i > 0; --i)
      std::swap(shuffled[i], shuffled[rng.below(i + 1)]);
    if (best_split(shuffled, rule.min_size).second >= q * (1 - 1e-12)) {
      if (++at_least >= give_up) return;
    }
  }
  double p_value = (1.0 + at_least) / (1.0 + perms);
  if (p_value >= rule.alpha) return;
  ChangePoint cp;
  cp.index = lo + tau;
  cp.p_value = p_value;
  out.push_back(cp);
  segment(values, lo, lo + tau, rule, out);
  segment(values, lo + tau, hi, rule, out);
}

}  // namespace

std::vector<double> energy_statistics(const std::vector<double>& values, std::size_t min_size) {
  std::vector<double> all;
  best_split(values, min_size, &all);
  all.resize(values.size() + 1, 0.0);
  return all;
}

std::vector<ChangePoint> find_change_points(const std::vector<double>& values,
                                            const ChangePointRule& rule) {
  std::vector<ChangePoint> out;
  segment(values, 0, values.size(), rule, out);
  std::sort(out.begin(), out.end(),
            [](const ChangePoint& a, const ChangePoint& b) { return a.index < b.index; });
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::size_t from = i == 0 ? 0 : out[i - 1].index;
    std::size_t to = i + 1 < out.size() ? out[i + 1].index : values.size();
    auto at = [&](std::size_t k) { return values.begin() + static_cast<long>(k); };
    std::vector<double> left(at(from), at(out[i].index)), right(at(out[i].index), at(to));
    out[i].before = median(left);
    out[i].after = median(right);
    out[i].n_before = left.size();
    out[i].n_after = right.size();
    double d = out[i].after - out[i].before;
    out[i].change = out[i].before != 0 ? d / std::fabs(out[i].before)
                    : d == 0           ? 0
                                       : std::copysign(INFINITY, d);
  }
  return out;
}

}  // namespace kh
