#include "report/compare_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "analysis/assertions.h"
#include "util/error.h"

namespace kh {
namespace {

bool is_data(const RunResult& r) {
  return r.outcome == Outcome::pass || r.outcome == Outcome::fail;
}

// "dying_at.500" -> ("dying_at", 500); nullopt-like false otherwise.
bool series_point(const std::string& name, std::string& family, long& x) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return false;
  for (std::size_t i = dot + 1; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  if (name.size() - dot - 1 > 12) return false;
  family = name.substr(0, dot);
  x = std::stol(name.substr(dot + 1));
  return true;
}

void add_unique(std::vector<std::string>& list, const std::string& s) {
  if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
}

}  // namespace

std::string AssertionVerdict::verdict() const {
  if (runs == 0) return "-";
  if (held == runs) return "pass";
  if (held == 0) return "fail";
  return "mixed";
}

std::string format_p(double p) {
  if (std::isnan(p)) return "-";
  if (p < 1e-6) return "<1e-6";
  if (p < 0.001) return fmt::format("{:.1e}", p);
  return fmt::format("{:.4f}", p);
}

std::string format_change(double change) {
  if (std::isnan(change)) return "-";
  if (std::isinf(change)) return change > 0 ? "+inf" : "-inf";
  if (change == 0) return "0%";
  double pct = change * 100;
  if (std::fabs(pct) >= 100) return fmt::format("{:+.0f}%", pct);
  return fmt::format("{:+.1f}%", pct);
}

std::string format_value(double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e9) return fmt::format("{:.0f}", v);
  if (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-3) return fmt::format("{:.3g}", v);
  if (std::fabs(v) >= 100) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3g}", v);
}

Comparison compare_runs(const std::vector<RunResult>& runs, const CompareOptions& options) {
  Comparison c;
  c.alpha = options.alpha;
  std::vector<std::string> seen;
  for (const RunResult& r : runs) add_unique(seen, r.kernel.name);
  if (options.kernels.empty()) {
    c.kernels = seen;
  } else {
    for (const auto& k : options.kernels) {
      if (std::find(seen.begin(), seen.end(), k) == seen.end())
        throw InputError(fmt::format("compare: no runs of kernel '{}' (the runs have: {})", k,
                                     fmt::join(seen, ", ")));
      add_unique(c.kernels, k);
    }
  }
  if (c.kernels.size() < 2)
    throw InputError(
        fmt::format("compare: needs runs of at least two kernels, found {} ({})", c.kernels.size(),
                    c.kernels.empty() ? std::string("no runs")
                                      : fmt::format("{}", fmt::join(c.kernels, ", "))));
  auto kernel_index = [&](const std::string& name) -> int {
    auto it = std::find(c.kernels.begin(), c.kernels.end(), name);
    return it == c.kernels.end() ? -1 : static_cast<int>(it - c.kernels.begin());
  };
  const std::size_t nk = c.kernels.size();

  // (workload, arch) -> runs per kernel, in repeat order.
  std::map<std::pair<std::string, std::string>, std::vector<std::vector<const RunResult*>>>
      by_group;
  for (const RunResult& r : runs) {
    int k = kernel_index(r.kernel.name);
    if (k < 0) continue;
    auto& slots = by_group[{r.workload, r.arch}];
    slots.resize(nk);
    slots[static_cast<std::size_t>(k)].push_back(&r);
  }

  for (auto& [where, per_kernel] : by_group) {
    CompareGroup g;
    g.workload = where.first;
    g.arch = where.second;
    for (auto& list : per_kernel)
      std::stable_sort(list.begin(), list.end(), [](const RunResult* a, const RunResult* b) {
        return a->repeat < b->repeat;
      });

    std::set<std::string> names, params;
    std::vector<std::string> expressions;
    for (std::size_t k = 0; k < nk; ++k) {
      KernelRuns kr;
      kr.kernel = c.kernels[k];
      for (const RunResult* r : per_kernel[k]) {
        if (g.key_metric.empty()) g.key_metric = r->key_metric;
        if (kr.release.empty()) kr.release = r->kernel.release;
        if (kr.params.empty()) kr.params = r->params;
        switch (r->outcome) {
          case Outcome::pass:
            ++kr.pass;
            break;
          case Outcome::fail:
            ++kr.fail;
            break;
          case Outcome::infra:
            ++kr.infra;
            add_unique(kr.infra_reasons, r->reason);
            break;
          case Outcome::skip:
            ++kr.skip;
            break;
        }
        std::set<std::string> titles;
        for (const auto& f : r->console) {
          titles.insert(f.title);
          if (f.tolerated) kr.tolerated[f.title] = true;
        }
        for (const auto& t : titles) ++kr.titles[t];
        for (const auto& [p, _] : r->params) params.insert(p);
        if (!is_data(*r)) continue;
        for (const auto& [name, _] : r->metrics) names.insert(name);
        for (const auto& a : r->assertions) add_unique(expressions, a.expression);
      }
      g.runs.push_back(std::move(kr));
    }

    for (const auto& p : params) {
      std::map<std::string, std::vector<std::string>> by_value;  // value -> kernels
      for (const auto& kr : g.runs) {
        if (kr.params.empty()) continue;
        auto it = kr.params.find(p);
        by_value[it == kr.params.end() ? "(unset)" : it->second].push_back(kr.kernel);
      }
      if (by_value.size() < 2) continue;
      std::vector<std::string> parts;
      for (const auto& [value, kernels] : by_value)
        parts.push_back(fmt::format("{} on {}", value, fmt::join(kernels, ", ")));
      g.param_differences.push_back(fmt::format("{}: {}", p, fmt::join(parts, "; ")));
    }

    // Metrics: the key metric first, then by name. Parameters are inputs,
    // not measurements: left out.
    std::vector<std::string> order;
    if (!g.key_metric.empty() && names.count(g.key_metric)) order.push_back(g.key_metric);
    for (const auto& n : names)
      if (n != g.key_metric && !params.count(n)) order.push_back(n);

    for (const auto& name : order) {
      MetricRow row;
      row.name = name;
      std::string family;
      long x = 0;
      bool in_series = series_point(name, family, x);
      if (in_series) {
        auto& xs = g.series[family];
        if (std::find(xs.begin(), xs.end(), x) == xs.end()) xs.push_back(x);
      }
      bool extra = std::find(options.extra_metrics.begin(), options.extra_metrics.end(), name) !=
                   options.extra_metrics.end();
      row.shown = options.all_metrics || extra || (name.find('.') == std::string::npos);
      for (std::size_t k = 0; k < nk; ++k) {
        MetricCell cell;
        for (const RunResult* r : per_kernel[k]) {
          if (!is_data(*r)) continue;
          auto it = r->metrics.find(name);
          if (it == r->metrics.end() || !std::isfinite(it->second)) continue;
          cell.values.push_back(it->second);
          cell.repeats.push_back(r->repeat);
        }
        cell.summary = summarize(cell.values);
        row.cells.push_back(std::move(cell));
      }
      const MetricCell& base = row.cells[0];
      for (std::size_t k = 1; k < nk; ++k) {
        MetricCell& cell = row.cells[k];
        if (base.values.empty() || cell.values.empty()) {
          cell.change = std::nan("");
          cell.welch.p_value = cell.mann_whitney.p_value = std::nan("");
          continue;
        }
        cell.change = relative_change(base.summary.median, cell.summary.median);
        cell.welch = welch_t_test(cell.values, base.values);
        cell.mann_whitney = mann_whitney_u(cell.values, base.values);
        cell.significant = cell.welch.p_value < c.alpha && cell.mann_whitney.p_value < c.alpha;
        if (cell.significant) row.differs = true;
        cell.interval = bootstrap_change(base.values, cell.values);
        cell.ranges_disjoint =
            cell.summary.min > base.summary.max || cell.summary.max < base.summary.min;
        bool underpowered = mann_whitney_min_p(cell.values.size(), base.values.size()) >= c.alpha;
        bool shows_change =
            cell.ranges_disjoint || cell.welch.p_value < c.alpha || cell.interval.excludes_zero();
        cell.call = cell.significant               ? CompareCall::changed
                    : underpowered && shows_change ? CompareCall::too_few_runs
                                                   : CompareCall::no_change;
        if (cell.call == CompareCall::too_few_runs)
          cell.repeats_needed =
              repeats_to_settle(base.values, cell.values, c.alpha, cell.welch.p_value);
        if (!cell.significant && underpowered && row.note.empty())
          row.note = fmt::format("{} + {} runs: Mann-Whitney cannot reach p < {}",
                                 base.values.size(), cell.values.size(), c.alpha);
      }
      g.metrics.push_back(std::move(row));
    }
    for (auto& [_, xs] : g.series) std::sort(xs.begin(), xs.end());

    // Assertions: every expression, on every kernel's data runs.
    for (const auto& expr : expressions) {
      AssertionRow row;
      row.expression = expr;
      for (std::size_t k = 0; k < nk; ++k) {
        AssertionVerdict v;
        for (const RunResult* r : per_kernel[k]) {
          if (!is_data(*r)) continue;
          const AssertionResult* stored = nullptr;
          for (const auto& a : r->assertions)
            if (a.expression == expr) stored = &a;
          bool held = false;
          if (stored && stored->error.empty()) {
            v.own = true;
            held = stored->passed;
          } else {
            Metrics vars = r->metrics;
            for (const auto& [p, value] : r->params) {
              char* end = nullptr;
              double d = std::strtod(value.c_str(), &end);
              if (end && *end == '\0' && !value.empty() && !vars.count(p)) vars[p] = d;
            }
            auto value = evaluate(expr, vars);
            if (!value) {
              if (v.error.empty()) v.error = value.error().message;
              continue;
            }
            held = *value != 0;
          }
          ++v.runs;
          if (held) ++v.held;
        }
        row.per_kernel.push_back(std::move(v));
      }
      std::set<std::string> verdicts;
      for (const auto& v : row.per_kernel)
        if (v.runs > 0) verdicts.insert(v.verdict());
      row.flips = verdicts.size() > 1;
      g.assertions.push_back(std::move(row));
    }
    c.groups.push_back(std::move(g));
  }
  return c;
}

}  // namespace kh
