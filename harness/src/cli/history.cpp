// kharness history: a metric's trend across nights and the newest run's
// regressions (history/regression.h); `history import` fills the store from
// results folders.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "history/dashboard.h"
#include "history/regression.h"
#include "history/store.h"
#include "util/error.h"
#include "util/files.h"

namespace kh::cli {
namespace {

using nlohmann::json;

struct HistoryArgs {
  std::string history = "results/history.sqlite";
  std::string job, kernel, workload, arch;
  std::vector<std::string> metrics;
  int last = 10;
  BandRule rule;
  bool json = false;
  std::string html;      // --html DIR: the dashboard
  bool summary = false;  // --summary: the mail-sized news only
  std::string by = "label";
  std::vector<std::string> import_dirs;
};

std::string format_number(double v) {
  if (!std::isfinite(v)) return "-";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

// Eight levels between the smallest and the largest value; '·' for a run
// without the metric.
std::string sparkline(const std::vector<std::optional<double>>& values) {
  static const char* const kLevels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& v : values)
    if (v) lo = std::min(lo, *v), hi = std::max(hi, *v);
  std::string out;
  for (const auto& v : values) {
    if (!v) {
      out += "·";
      continue;
    }
    int level = hi > lo ? static_cast<int>(std::lround((*v - lo) / (hi - lo) * 7)) : 3;
    out += kLevels[std::clamp(level, 0, 7)];
  }
  return out;
}

// A short kernel identity: the commit, else the source's hash, else (an
// older result.json) the artifact key; then the series and the config.
std::string short_identity(const KernelIdentity& k) {
  std::string id = !k.commit.empty()         ? k.commit.substr(0, 12)
                   : !k.source_id.empty()    ? k.source_id.substr(0, k.source_id.find(':') + 9)
                   : !k.artifact_key.empty() ? "key:" + k.artifact_key.substr(0, 8)
                                             : "?";
  if (!k.series_hash.empty()) id += " +" + k.series_hash.substr(0, 8);
  if (!k.config_hash.empty()) id += " cfg:" + k.config_hash.substr(0, 8);
  return id;
}

std::optional<double> value_of(const StoredRun& r, const std::string& m) {
  auto it = r.metrics.find(m);
  if (it == r.metrics.end()) return std::nullopt;
  return it->second;
}

json band_json(const NoiseBand& b) {
  return {{"median", b.median}, {"mad", b.mad},     {"half_width", b.half_width},
          {"low", b.low()},     {"high", b.high()}, {"n", b.n}};
}

int do_history(const HistoryArgs& a) {
  if (!std::filesystem::exists(a.history))
    throw InputError(fmt::format(
        "{}: no history here (kharness run writes one beside its results; --history PATH)",
        a.history));
  HistoryStore store(a.history);
  auto runs = store.runs({a.job, a.kernel, a.arch, a.workload});
  if (runs.empty())
    throw InputError(
        fmt::format("{}: no runs match (job '{}', kernel '{}', arch '{}', workload "
                    "'{}'); {} run(s) stored",
                    a.history, a.job, a.kernel, a.arch, a.workload, store.count()));
  BandRule rule = a.rule;
  rule.last = a.last;
  SeriesKey key = a.by == "identity" ? SeriesKey::identity : SeriesKey::label;
  if (a.summary || !a.html.empty()) {
    DashboardOptions o;
    o.band = rule;
    o.key = key;
    o.metrics = a.metrics;
    o.recent = static_cast<std::size_t>(a.last);
    std::filesystem::path dir =
        a.html.empty() ? std::filesystem::path() : std::filesystem::absolute(a.html);
    Dashboard d = a.html.empty() ? build_dashboard(runs, o)
                                 : write_dashboard(runs, o, dir,
                                                   std::filesystem::absolute(a.history).string());
    if (!a.html.empty()) {
      if (!a.summary)
        std::cout << fmt::format("dashboard: {} ({} series, {} regression(s) or change(s))\n",
                                 (dir / "index.html").string(), d.series.size(), d.news.size());
    }
    if (a.summary) std::cout << dashboard_summary(d);
    return d.news.empty() ? 0 : 1;
  }
  auto series = group_series(runs, key);

  std::vector<Regression> regressions;
  json jseries = json::array();
  std::string text;
  for (const auto& s : series) {
    auto metrics = judged_metrics(s, a.metrics);
    auto found = find_regressions(s, metrics, rule);
    regressions.insert(regressions.end(), found.begin(), found.end());
    // The table: the newest run and the baseline's span before it.
    std::size_t shown = std::min<std::size_t>(s.runs.size(), static_cast<std::size_t>(a.last) + 1);
    std::vector<const StoredRun*> rows(s.runs.end() - static_cast<long>(shown), s.runs.end());
    auto base = baseline(s, rule);
    std::map<std::string, std::optional<NoiseBand>> bands;
    for (const auto& m : metrics) {
      std::vector<double> values;
      for (const StoredRun* r : base)
        if (auto v = value_of(*r, m)) values.push_back(*v);
      bands[m] = noise_band(values, rule);
    }

    if (a.json) {
      json jruns = json::array();
      for (const StoredRun* r : rows) {
        json values = json::object();
        for (const auto& m : metrics)
          if (auto v = value_of(*r, m); v && std::isfinite(*v)) values[m] = *v;
        std::vector<std::string> titles;
        for (const auto& f : r->reports)
          if (!f.tolerated) titles.push_back(f.title);
        jruns.push_back({{"started", r->started},
                         {"release", r->kernel.release},
                         {"commit", r->kernel.commit},
                         {"source_id", r->kernel.source_id},
                         {"series_hash", r->kernel.series_hash},
                         {"config_hash", r->kernel.config_hash},
                         {"outcome", std::string(to_string(r->outcome))},
                         {"reason", r->reason},
                         {"reports", titles},
                         {"results_dir", r->results_dir},
                         {"run_dir", r->run_dir},
                         {"values", values}});
      }
      json jbands = json::object();
      for (const auto& [m, b] : bands)
        if (b) jbands[m] = band_json(*b);
      jseries.push_back({{"job", s.job},
                         {"kernel", s.kernel},
                         {"arch", s.arch},
                         {"workload", s.workload},
                         {"metrics", metrics},
                         {"runs", jruns},
                         {"bands", jbands},
                         {"regressions", static_cast<int>(found.size())}});
      continue;
    }

    text += fmt::format("{}  {}/{}/{}  ({} run(s), newest {})\n", s.job, s.kernel, s.arch,
                        s.workload, s.runs.size(), s.runs.back()->started);
    std::vector<std::vector<std::string>> table = {{"STARTED", "RELEASE", "KERNEL-ID", "OUTCOME"}};
    for (const auto& m : metrics) table[0].push_back(m);
    for (const StoredRun* r : rows) {
      std::vector<std::string> row = {
          r->started, r->kernel.release.empty() ? "-" : r->kernel.release,
          short_identity(r->kernel), std::string(to_string(r->outcome))};
      for (const auto& m : metrics) row.push_back(format_number(value_of(*r, m).value_or(NAN)));
      table.push_back(std::move(row));
    }
    std::vector<std::size_t> width(table[0].size(), 0);
    for (const auto& row : table)
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : table) {
      std::string line = "  ";
      for (std::size_t c = 0; c < row.size(); ++c)
        line += fmt::format("{:<{}}", row[c], c + 1 < row.size() ? width[c] + 2 : 0);
      text += line + "\n";
    }
    for (const auto& m : metrics) {
      std::vector<std::optional<double>> values;
      for (const StoredRun* r : rows) values.push_back(value_of(*r, m));
      std::string verdict;
      if (const auto& b = bands.at(m)) {
        auto now = value_of(*s.runs.back(), m);
        bool out = now && !b->contains(*now);
        verdict = fmt::format("band {} ± {} over {} run(s){}", format_number(b->median),
                              format_number(b->half_width), b->n,
                              out ? ": newest OUTSIDE" : ": newest inside");
      } else {
        verdict = fmt::format("no band yet (needs {} measured runs before the newest)",
                              rule.min_baseline);
      }
      text += fmt::format("  {}  {}  {}\n", m, sparkline(values), verdict);
    }
    if (metrics.empty()) text += "  (no key metric: name one with --metric)\n";
    text += "\n";
  }

  if (a.json) {
    json jregs = json::array();
    for (const auto& r : regressions) {
      json j = {{"kind", std::string(to_string(r.kind))},
                {"job", r.job},
                {"kernel", r.kernel},
                {"arch", r.arch},
                {"workload", r.workload},
                {"started", r.started},
                {"run_dir", r.run_dir},
                {"subject", r.subject},
                {"detail", r.detail}};
      if (r.kind == Regression::Kind::metric_out_of_band) {
        j["value"] = r.value;
        j["band"] = band_json(r.band);
      }
      jregs.push_back(std::move(j));
    }
    json out = {{"history", a.history},
                {"rule",
                 {{"last", rule.last},
                  {"min_baseline", rule.min_baseline},
                  {"k", rule.k},
                  {"floor_rel", rule.floor_rel},
                  {"floor_abs", rule.floor_abs}}},
                {"series", jseries},
                {"regressions", jregs}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << text;
    if (regressions.empty()) {
      std::cout << fmt::format("no regression in the newest run of {} series\n", series.size());
    } else {
      std::cout << "REGRESSIONS (newest run against the runs before it)\n";
      for (const auto& r : regressions)
        std::cout << fmt::format("  {}  {}/{}/{}  {}: {}\n", r.job, r.kernel, r.arch, r.workload,
                                 r.started, r.detail);
      std::cout << fmt::format("{} regression(s) in {} series\n", regressions.size(),
                               series.size());
    }
  }
  return regressions.empty() ? 0 : 1;
}

int do_import(const HistoryArgs& a) {
  HistoryStore store(a.history);
  std::vector<std::filesystem::path> dirs(a.import_dirs.begin(), a.import_dirs.end());
  ImportSummary rep = import_results(store, dirs);
  std::cout << fmt::format(
      "history {}: {} new run(s) of {} read from {} results folder(s); {} stored\n", a.history,
      rep.added, rep.runs, rep.folders, store.count());
  return 0;
}

}  // namespace

void add_history(CLI::App& app, Action& action) {
  auto args = std::make_shared<HistoryArgs>();
  auto* sub = app.add_subcommand("history",
                                 "A metric's trend across runs, and the newest run's regressions");
  sub->footer(R"(Every `kharness run` records its runs in a history store (SQLite): by
default history.sqlite beside the job's results folder (results/history.sqlite),
else the job's `history:` or run's --history. A series is one job's kernel
label x arch x workload id (--by identity: the exact kernel instead of its
label); its newest run is judged against the --last N
measured runs (pass or fail) before it:

  new crash          a console report title none of them had
  assertion failing  an assertion that held in the latest of them and fails now
  metric out of band the key metric (or each --metric) outside
                     median +- max(k * 1.4826 * MAD, floor-rel * |median|, floor-abs)
                     of them, once there are at least 3

Change points (--html, --summary): each plotted metric's series is split
where its level moved (e-divisive means with a permutation test, p < 0.01,
the new level at least 3 runs long); a change point within the --last runs
is news, with the first run of the new level and its kernel.

Examples:
  kharness history
  kharness history --html /srv/nightly/dashboard
  kharness history --summary          # for the nightly mail or a CI comment
  kharness history --workload dying-cgroup --arch x86_64 --metric dying_after_loop
  kharness history --json | jq '.regressions'
  kharness history import results/ /srv/nightly/default-20261124-0100

Exit codes: 0 no regression, 1 a regression flagged (--html, --summary: or a
recent change point), 2 bad usage or input
(no history file, nothing matches), 3 the store cannot be read or written.)");
  sub->add_option("--history", args->history,
                  "The history store (default: results/history.sqlite)");
  sub->add_option("--job", args->job, "Only this job (its name)");
  sub->add_option("--kernel,-k", args->kernel, "Only this kernel label");
  sub->add_option("--workload,-w", args->workload, "Only this workload (id or name)");
  sub->add_option("--arch", args->arch, "Only this arch");
  sub->add_option("--metric,-m", args->metrics,
                  "Metrics to show and judge (repeatable; default: the workload's key metric)");
  sub->add_option("--last,-n", args->last, "Runs before the newest to show and judge against")
      ->check(CLI::PositiveNumber);
  sub->add_option("--k", args->rule.k, "Band half-width in robust standard deviations (4)");
  sub->add_option("--floor-rel", args->rule.floor_rel,
                  "Least half-width, relative to the median (0.10)");
  sub->add_option("--floor-abs", args->rule.floor_abs, "Least half-width, absolute (1)");
  sub->add_option("--by", args->by,
                  "What makes a series beside job, arch and workload: the kernel's label "
                  "(default) or its identity (source/commit, series, config)")
      ->check(CLI::IsMember({"label", "identity"}));
  auto* json_flag = sub->add_flag("--json", args->json, "JSON on stdout, for scripts");
  auto* html =
      sub->add_option("--html", args->html,
                      "Write the dashboard to DIR/index.html (regressions and change points first, "
                      "then every series plotted over time, with links to each run)");
  auto* summary =
      sub->add_flag("--summary", args->summary,
                    "Only the news, mail-sized: regressions with their run folders, new crashes "
                    "with their titles, recent change points");
  json_flag->excludes(html)->excludes(summary);

  auto* imp = sub->add_subcommand("import", "Add existing results folders to the history");
  imp->add_option("dirs", args->import_dirs,
                  "Results folders of jobs, or folders holding them (results/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  imp->add_option("--history", args->history,
                  "The history store (default: results/history.sqlite)");
  imp->callback([&action, args] { action = [args] { return do_import(*args); }; });
  sub->callback([&action, args, imp] {
    if (!imp->parsed()) action = [args] { return do_history(*args); };
  });
}

}  // namespace kh::cli
