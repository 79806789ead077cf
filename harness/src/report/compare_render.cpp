#include "report/compare_render.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

namespace kh {
namespace {

using nlohmann::json;

json number(double v) {
  return std::isfinite(v) ? json(v) : json();
}

// Markdown table cells: a pipe would end the cell.
std::string cell_text(std::string s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|')
      out += "\\|";
    else if (ch == '\n')
      out += ' ';
    else
      out += ch;
  }
  return out;
}

std::string row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + cell_text(c) + " |";
  return out + "\n";
}

std::string separator(std::size_t n) {
  std::string out = "|";
  for (std::size_t i = 0; i < n; ++i) out += " --- |";
  return out + "\n";
}

std::string distribution(const MetricCell& cell) {
  if (cell.values.empty()) return "-";
  if (cell.summary.min == cell.summary.max)
    return fmt::format("{} (n={})", format_value(cell.summary.median), cell.summary.n);
  return fmt::format("{} ({}–{}, n={})", format_value(cell.summary.median),
                     format_value(cell.summary.min), format_value(cell.summary.max),
                     cell.summary.n);
}

std::string format_interval_bound(double v) {
  return format_change(v);
}

std::string group_title(const CompareGroup& g) {
  return fmt::format("{} on {}", g.workload, g.arch);
}

}  // namespace

std::string change_with_interval(const MetricCell& cell) {
  std::string s = format_change(cell.change);
  const ChangeInterval& ci = cell.interval;
  if (std::isnan(ci.low) || (ci.low == ci.high && ci.low == cell.change)) return s;
  return fmt::format("{} ({} to {})", s, format_interval_bound(ci.low),
                     format_interval_bound(ci.high));
}

std::string significance_text(const MetricCell& cell) {
  switch (cell.call) {
    case CompareCall::changed:
      return "**yes**";
    case CompareCall::too_few_runs:
      return fmt::format("too few runs ({} would settle it)", cell.repeats_needed);
    case CompareCall::no_change:
      break;
  }
  return "no";
}

std::string significance_rule(double alpha) {
  return fmt::format(
      "significant: Welch's t-test p < {0} and Mann-Whitney U p < {0}, both two-sided, each "
      "kernel against the base (Mann-Whitney exact for n <= 10 a side, else normal "
      "approximation with tie correction; it cannot reach {0} below 4 runs a kernel)",
      alpha);
}

std::string compare_markdown(const Comparison& c) {
  std::string out = "# kharness compare\n\n";
  out += fmt::format("Base: **{}**; compared: {}.\n\n", c.kernels[0],
                     fmt::join(c.kernels.begin() + 1, c.kernels.end(), ", "));
  out += "Rule: " + significance_rule(c.alpha) +
         ". Data: pass and fail runs; infra and skip runs are counted, never used as data.\n";
  if (!c.sources.empty()) out += fmt::format("\nResults: {}\n", fmt::join(c.sources, ", "));

  const std::size_t nk = c.kernels.size();
  for (const CompareGroup& g : c.groups) {
    out += "\n## " + group_title(g) + "\n\n";
    out += row({"kernel", "release", "pass", "fail", "infra", "skip"});
    out += separator(6);
    for (const auto& kr : g.runs)
      out += row({kr.kernel, kr.release.empty() ? "-" : kr.release, std::to_string(kr.pass),
                  std::to_string(kr.fail), std::to_string(kr.infra), std::to_string(kr.skip)});
    for (const auto& kr : g.runs)
      if (kr.infra > 0)
        out += fmt::format("\n{}: {} infra run(s), not used as data: {}\n", kr.kernel, kr.infra,
                           fmt::join(kr.infra_reasons, "; "));

    for (const auto& d : g.param_differences)
      out += "\nWarning: the kernels ran with different parameters: " + d + ".\n";

    // The verdict in one paragraph: what a reader wants first, and the
    // trade-off (the key metric improving, another metric paying for it).
    out += "\n" + compare_headline(c, g) + "\n";

    // The metric table.
    std::vector<std::string> head = {"metric"};
    for (const auto& k : c.kernels) head.push_back(k + " median (min–max, n)");
    for (std::size_t k = 1; k < nk; ++k) {
      std::string suffix = nk > 2 ? " " + c.kernels[k] : "";
      head.push_back("change (95 % CI)" + suffix);
      head.push_back("p Welch / MWU" + suffix);
      head.push_back("significant" + suffix);
    }
    out += "\n" + row(head) + separator(head.size());
    std::set<std::string> notes;
    for (const MetricRow& m : g.metrics) {
      if (!m.shown) continue;
      std::vector<std::string> cells = {m.name == g.key_metric ? m.name + " (key)" : m.name};
      for (const auto& cell : m.cells) cells.push_back(distribution(cell));
      for (std::size_t k = 1; k < nk; ++k) {
        const MetricCell& cell = m.cells[k];
        cells.push_back(change_with_interval(cell));
        cells.push_back(format_p(cell.welch.p_value) + " / " + format_p(cell.mann_whitney.p_value));
        cells.push_back(significance_text(cell));
      }
      out += row(cells);
      if (!m.note.empty()) notes.insert(m.note);
    }
    for (const auto& n : notes) out += "\nNote: " + n + ".\n";

    // Console reports, side by side.
    std::set<std::string> titles;
    for (const auto& kr : g.runs)
      for (const auto& [t, _] : kr.titles) titles.insert(t);
    out += "\n### Console reports\n\n";
    if (titles.empty()) {
      out += "None on any kernel.\n";
    } else {
      std::vector<std::string> h = {"title"};
      for (const auto& k : c.kernels) h.push_back(k);
      out += row(h) + separator(h.size());
      for (const auto& t : titles) {
        std::vector<std::string> cells = {t};
        for (const auto& kr : g.runs) {
          auto it = kr.titles.find(t);
          int runs = kr.pass + kr.fail + kr.infra;
          std::string text =
              fmt::format("{}/{} runs", it == kr.titles.end() ? 0 : it->second, runs);
          if (kr.tolerated.count(t)) text += " (tolerated)";
          cells.push_back(text);
        }
        out += row(cells);
      }
    }

    // Assertions whose verdict differs between kernels.
    out += "\n### Assertions that flip\n\n";
    bool any = false;
    for (const auto& a : g.assertions) any = any || a.flips;
    if (!any) {
      out += "None: every assertion has the same verdict on every kernel.\n";
    } else {
      std::vector<std::string> h = {"assertion"};
      for (const auto& k : c.kernels) h.push_back(k);
      out += row(h) + separator(h.size());
      for (const auto& a : g.assertions) {
        if (!a.flips) continue;
        std::vector<std::string> cells = {"`" + a.expression + "`"};
        for (const auto& v : a.per_kernel)
          cells.push_back(v.runs == 0 ? "-"
                                      : fmt::format("{} ({}/{} held{})", v.verdict(), v.held,
                                                    v.runs, v.own ? "" : ", not its own"));
        out += row(cells);
      }
    }
  }
  return out;
}

nlohmann::json compare_json(const Comparison& c) {
  json groups = json::array();
  for (const CompareGroup& g : c.groups) {
    json runs = json::array();
    for (const auto& kr : g.runs)
      runs.push_back({{"kernel", kr.kernel},
                      {"release", kr.release},
                      {"pass", kr.pass},
                      {"fail", kr.fail},
                      {"infra", kr.infra},
                      {"skip", kr.skip},
                      {"infra_reasons", kr.infra_reasons},
                      {"console_titles", kr.titles},
                      {"params", kr.params}});
    json metrics = json::array();
    for (const MetricRow& m : g.metrics) {
      json cells = json::array();
      for (std::size_t k = 0; k < m.cells.size(); ++k) {
        const MetricCell& cell = m.cells[k];
        json values = json::array();
        for (double v : cell.values) values.push_back(number(v));
        json j = {{"kernel", c.kernels[k]},
                  {"n", cell.summary.n},
                  {"median", number(cell.summary.median)},
                  {"min", number(cell.summary.min)},
                  {"max", number(cell.summary.max)},
                  {"mean", number(cell.summary.mean)},
                  {"stddev", number(cell.summary.stddev)},
                  {"values", values},
                  {"repeats", cell.repeats}};
        if (k > 0) {
          j["change"] = number(cell.change);
          j["change_text"] = format_change(cell.change);
          j["welch"] = {{"t", number(cell.welch.statistic)},
                        {"df", number(cell.welch.df)},
                        {"p", number(cell.welch.p_value)},
                        {"note", cell.welch.note}};
          j["mann_whitney"] = {{"u", number(cell.mann_whitney.statistic)},
                               {"p", number(cell.mann_whitney.p_value)},
                               {"exact", cell.mann_whitney.exact},
                               {"note", cell.mann_whitney.note}};
          j["significant"] = cell.significant;
          j["call"] = std::string(to_string(cell.call));
          j["interval"] = {{"low", number(cell.interval.low)},
                           {"high", number(cell.interval.high)},
                           {"level", cell.interval.level},
                           {"resamples", cell.interval.resamples}};
          j["ranges_disjoint"] = cell.ranges_disjoint;
          if (cell.call == CompareCall::too_few_runs) j["repeats_needed"] = cell.repeats_needed;
        }
        cells.push_back(std::move(j));
      }
      metrics.push_back({{"name", m.name},
                         {"shown", m.shown},
                         {"differs", m.differs},
                         {"note", m.note},
                         {"kernels", std::move(cells)}});
    }
    json assertions = json::array();
    for (const auto& a : g.assertions) {
      json per = json::array();
      for (std::size_t k = 0; k < a.per_kernel.size(); ++k) {
        const auto& v = a.per_kernel[k];
        per.push_back({{"kernel", c.kernels[k]},
                       {"verdict", v.verdict()},
                       {"held", v.held},
                       {"runs", v.runs},
                       {"own", v.own},
                       {"error", v.error}});
      }
      assertions.push_back(
          {{"expression", a.expression}, {"flips", a.flips}, {"kernels", std::move(per)}});
    }
    groups.push_back({{"workload", g.workload},
                      {"arch", g.arch},
                      {"key_metric", g.key_metric},
                      {"runs", std::move(runs)},
                      {"metrics", std::move(metrics)},
                      {"assertions", std::move(assertions)},
                      {"series", g.series},
                      {"param_differences", g.param_differences}});
  }
  return {{"schema", 2},
          {"base", c.kernels[0]},
          {"kernels", c.kernels},
          {"alpha", c.alpha},
          {"rule", significance_rule(c.alpha)},
          {"sources", c.sources},
          {"groups", std::move(groups)}};
}

}  // namespace kh
