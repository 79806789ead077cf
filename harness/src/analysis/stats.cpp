#include "analysis/stats.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <vector>

namespace kh {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Ranks of the pooled sample (a then b), 1-based, ties given the mean of
// the ranks they span. Also returns sum(t^3 - t) over tie groups.
std::vector<double> midranks(const std::vector<double>& pooled, double& tie_term) {
  std::vector<std::size_t> order(pooled.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return pooled[x] < pooled[y]; });
  std::vector<double> rank(pooled.size());
  tie_term = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && pooled[order[j + 1]] == pooled[order[i]]) ++j;
    double r = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = r;
    double t = static_cast<double>(j - i + 1);
    tie_term += t * t * t - t;
    i = j + 1;
  }
  return rank;
}

double binomial(std::size_t n, std::size_t k) {
  k = std::min(k, n - k);
  double c = 1;
  for (std::size_t i = 1; i <= k; ++i)
    c = c * static_cast<double>(n - k + i) / static_cast<double>(i);
  return c;
}

}  // namespace

double median(std::span<const double> xs) {
  if (xs.empty()) return kNaN;
  std::vector<double> v(xs.begin(), xs.end());
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double mean(std::span<const double> xs) {
  if (xs.empty()) return kNaN;
  double s = 0;
  for (double x : xs) s += x;
  return s / static_cast<double>(xs.size());
}

double sample_variance(std::span<const double> xs) {
  if (xs.size() < 2) return kNaN;
  double m = mean(xs), s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  return s / static_cast<double>(xs.size() - 1);
}

Summary summarize(std::span<const double> xs) {
  Summary s;
  s.n = xs.size();
  if (xs.empty()) {
    s.median = s.min = s.max = s.mean = s.stddev = kNaN;
    return s;
  }
  s.median = median(xs);
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  s.min = *lo;
  s.max = *hi;
  s.mean = mean(xs);
  s.stddev = xs.size() < 2 ? 0 : std::sqrt(sample_variance(xs));
  return s;
}

double relative_change(double base, double value) {
  if (base == 0) return value == 0 ? 0 : (value > 0 ? kInf : -kInf);
  return (value - base) / std::fabs(base);
}

TestResult welch_t_test(std::span<const double> a, std::span<const double> b) {
  TestResult r;
  if (a.size() < 2 || b.size() < 2) {
    r.p_value = kNaN;
    r.note = "n < 2";
    return r;
  }
  double ma = mean(a), mb = mean(b);
  double sa = sample_variance(a) / static_cast<double>(a.size());
  double sb = sample_variance(b) / static_cast<double>(b.size());
  double se2 = sa + sb;
  if (se2 == 0) {
    r.statistic = ma == mb ? 0 : (ma > mb ? kInf : -kInf);
    r.p_value = ma == mb ? 1 : 0;
    r.note = "no variance in either sample";
    return r;
  }
  r.statistic = (ma - mb) / std::sqrt(se2);
  r.df =
      se2 * se2 /
      (sa * sa / static_cast<double>(a.size() - 1) + sb * sb / static_cast<double>(b.size() - 1));
  boost::math::students_t dist(r.df);
  r.p_value = 2 * boost::math::cdf(boost::math::complement(dist, std::fabs(r.statistic)));
  r.p_value = std::min(1.0, r.p_value);
  return r;
}

double mann_whitney_min_p(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) return 1;
  return std::min(1.0, 2 / binomial(n1 + n2, n1));
}

TestResult mann_whitney_u(std::span<const double> a, std::span<const double> b) {
  TestResult r;
  if (a.empty() || b.empty()) {
    r.p_value = kNaN;
    r.note = "an empty sample";
    return r;
  }
  std::size_t n1 = a.size(), n2 = b.size(), n = n1 + n2;
  std::vector<double> pooled(a.begin(), a.end());
  pooled.insert(pooled.end(), b.begin(), b.end());
  double tie_term = 0;
  std::vector<double> rank = midranks(pooled, tie_term);
  double r1 = 0;
  for (std::size_t i = 0; i < n1; ++i) r1 += rank[i];
  double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2), dn = static_cast<double>(n);
  r.statistic = r1 - dn1 * (dn1 + 1) / 2;
  if (tie_term == dn * dn * dn - dn) {  // one tie group: every value equal
    r.p_value = 1;
    r.note = "every value equal";
    return r;
  }

  if (binomial(n, n1) <= static_cast<double>(kExactMannWhitneySplits)) {
    // Midranks are multiples of 0.5: count the splits by doubled rank sum
    // (an integer), ways[k][s] = subsets of size k with doubled sum s.
    std::vector<int> doubled(n);
    int total = 0;
    for (std::size_t i = 0; i < n; ++i)
      total += doubled[i] = static_cast<int>(std::lround(2 * rank[i]));
    std::vector<std::vector<double>> ways(n1 + 1, std::vector<double>(total + 1, 0));
    ways[0][0] = 1;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = std::min(i + 1, n1); k >= 1; --k)
        for (int s = total; s >= doubled[i]; --s) ways[k][s] += ways[k - 1][s - doubled[i]];
    // Centre of the doubled rank sum: 2 * n1 * (n + 1) / 2.
    long centre = static_cast<long>(n1 * (n + 1));
    long observed = std::labs(std::lround(2 * r1) - centre);
    double extreme = 0, all = 0;
    for (int s = 0; s <= total; ++s) {
      all += ways[n1][s];
      if (std::labs(s - centre) >= observed) extreme += ways[n1][s];
    }
    r.p_value = std::min(1.0, extreme / all);
    r.exact = true;
    return r;
  }

  double mu = dn1 * dn2 / 2;
  double var = dn1 * dn2 / 12 * ((dn + 1) - tie_term / (dn * (dn - 1)));
  double dist = std::fabs(r.statistic - mu) - 0.5;  // continuity correction
  if (dist <= 0) {
    r.p_value = 1;
    return r;
  }
  boost::math::normal normal;
  r.p_value =
      std::min(1.0, 2 * boost::math::cdf(boost::math::complement(normal, dist / std::sqrt(var))));
  return r;
}

}  // namespace kh
