#include "history/regression.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "analysis/stats.h"

namespace kh {
std::optional<NoiseBand> noise_band(const std::vector<double>& values, const BandRule& rule) {
  if (static_cast<int>(values.size()) < std::max(1, rule.min_baseline)) return std::nullopt;
  NoiseBand b;
  b.n = static_cast<int>(values.size());
  b.median = median(values);
  std::vector<double> dev;
  for (double v : values) dev.push_back(std::fabs(v - b.median));
  b.mad = median(dev);
  // 1.4826 × MAD estimates the standard deviation of normal noise, and is
  // not dragged along by one wild night the way the standard deviation is.
  b.half_width =
      std::max({rule.k * 1.4826 * b.mad, rule.floor_rel * std::fabs(b.median), rule.floor_abs});
  return b;
}

std::string_view to_string(Regression::Kind k) {
  switch (k) {
    case Regression::Kind::new_crash:
      return "new_crash";
    case Regression::Kind::assertion_failing:
      return "assertion_failing";
    case Regression::Kind::metric_out_of_band:
      return "metric_out_of_band";
  }
  return "?";
}

std::string kernel_identity(const KernelIdentity& k) {
  std::string id = !k.commit.empty() ? k.commit.substr(0, 12) : k.source_id;
  if (id.empty()) return "label:" + k.name;
  if (auto colon = id.find(':'); colon != std::string::npos) id = id.substr(0, colon + 13);
  if (!k.series_hash.empty()) id += "+" + k.series_hash.substr(0, 12);
  if (!k.config_hash.empty()) id += " cfg:" + k.config_hash.substr(0, 12);
  return id;
}

std::vector<HistorySeries> group_series(const std::vector<StoredRun>& runs, SeriesKey key) {
  std::vector<HistorySeries> out;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::size_t> index;
  for (const auto& r : runs) {
    std::string kernel = key == SeriesKey::label ? r.kernel.name : kernel_identity(r.kernel);
    auto [it, fresh] =
        index.emplace(std::make_tuple(r.job, kernel, r.arch, r.workload), out.size());
    if (fresh) out.push_back({r.job, kernel, r.arch, r.workload, {}});
    out[it->second].runs.push_back(&r);
  }
  return out;
}

std::vector<std::string> judged_metrics(const HistorySeries& s,
                                        const std::vector<std::string>& asked) {
  if (!asked.empty()) return asked;
  if (s.runs.empty() || s.runs.back()->key_metric.empty()) return {};
  return {s.runs.back()->key_metric};
}

std::vector<const StoredRun*> baseline(const HistorySeries& s, const BandRule& rule) {
  std::vector<const StoredRun*> out;
  if (s.runs.size() < 2) return out;
  for (auto it = s.runs.rbegin() + 1; it != s.runs.rend(); ++it) {
    if (static_cast<int>(out.size()) >= rule.last) break;
    if (measured(**it)) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Regression> find_regressions(const HistorySeries& s,
                                         const std::vector<std::string>& metrics,
                                         const BandRule& rule) {
  std::vector<Regression> out;
  if (s.runs.empty()) return out;
  const StoredRun& now = *s.runs.back();
  if (!measured(now)) return out;
  auto base = baseline(s, rule);
  if (base.empty()) return out;  // nothing to compare with: the first night
  auto make = [&](Regression::Kind kind, std::string subject, std::string detail) {
    Regression r{kind,        s.job,       s.kernel,           s.arch,           s.workload,
                 now.started, now.run_dir, std::move(subject), std::move(detail)};
    return r;
  };

  // New crash titles.
  std::set<std::string> seen;
  for (const StoredRun* r : base)
    for (const auto& f : r->reports) seen.insert(f.title);
  std::set<std::string> flagged;
  for (const auto& f : now.reports) {
    if (f.tolerated || seen.count(f.title) || !flagged.insert(f.title).second) continue;
    out.push_back(make(Regression::Kind::new_crash, f.title,
                       fmt::format("new console report: {} (in none of the {} run(s) before)",
                                   f.title, base.size())));
  }

  // Assertions that held last time and do not now.
  for (const auto& a : now.assertions) {
    if (a.passed) continue;
    std::optional<bool> before;
    for (auto it = base.rbegin(); it != base.rend() && !before; ++it)
      for (const auto& b : (*it)->assertions)
        if (b.expression == a.expression) before = b.passed;
    if (!before || !*before) continue;
    std::string how = !a.error.empty()         ? "cannot be evaluated: " + a.error
                      : std::isfinite(a.value) ? fmt::format("now false (value {:g})", a.value)
                                               : "now false";
    out.push_back(make(Regression::Kind::assertion_failing, a.expression,
                       fmt::format("assertion started failing: {} ({}; held in the run before)",
                                   a.expression, how)));
  }

  // Metrics outside the baseline's noise band.
  for (const auto& m : metrics) {
    auto it = now.metrics.find(m);
    if (it == now.metrics.end()) continue;
    std::vector<double> values;
    for (const StoredRun* r : base)
      if (auto v = r->metrics.find(m); v != r->metrics.end()) values.push_back(v->second);
    auto band = noise_band(values, rule);
    if (!band || band->contains(it->second)) continue;
    Regression r = make(Regression::Kind::metric_out_of_band, m,
                        fmt::format("{} = {:g}, {} the band {:g} ± {:g} of the {} run(s) before", m,
                                    it->second, it->second > band->high() ? "above" : "below",
                                    band->median, band->half_width, band->n));
    r.value = it->second;
    r.band = *band;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Regression> find_last_results_regressions(const HistorySeries& s,
                                                      const std::vector<std::string>& metrics,
                                                      const BandRule& rule) {
  std::vector<Regression> out;
  if (s.runs.empty()) return out;
  const std::string& folder = s.runs.back()->results_dir;
  // The folder's runs: the newest ones sharing its results folder.
  std::size_t first = s.runs.size() - 1;
  while (first > 0 && s.runs[first - 1]->results_dir == folder) --first;
  std::set<std::pair<Regression::Kind, std::string>> seen;
  for (std::size_t k = first; k < s.runs.size(); ++k) {
    HistorySeries one = s;
    one.runs.assign(s.runs.begin(), s.runs.begin() + static_cast<long>(first));
    one.runs.push_back(s.runs[k]);
    for (auto& r : find_regressions(one, metrics, rule))
      if (seen.insert({r.kind, r.subject}).second) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kh
