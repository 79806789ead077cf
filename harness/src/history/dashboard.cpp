#include "history/dashboard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "util/files.h"
#include "util/html.h"

namespace kh {
namespace {

std::optional<double> value_of(const StoredRun& r, const std::string& m) {
  auto it = r.metrics.find(m);
  if (it == r.metrics.end() || !std::isfinite(it->second)) return std::nullopt;
  return it->second;
}

std::string num(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "-" : (v > 0 ? "inf" : "-inf");
  if (v == std::floor(v) && std::fabs(v) < 1e12) return fmt::format("{:.0f}", v);
  if (std::fabs(v) >= 100) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3g}", v);
}

std::string pct(double change) {
  if (std::isnan(change)) return "-";
  if (std::isinf(change)) return change > 0 ? "+inf" : "-inf";
  double p = change * 100;
  return std::fabs(p) >= 100 ? fmt::format("{:+.0f}%", p) : fmt::format("{:+.1f}%", p);
}

std::string p_text(double p) {
  return p < 0.001 ? fmt::format("{:.1e}", p) : fmt::format("{:.3f}", p);
}

std::string day(const std::string& started) {
  return started.substr(0, 10);
}

// "6.12.0 abc123def012 +1a2b3c4d cfg:5e6f7a8b": what the kernel of a run was.
std::string identity_text(const KernelIdentity& k) {
  std::string s = k.release.empty() ? "?" : k.release;
  if (!k.commit.empty())
    s += " " + k.commit.substr(0, 12);
  else if (!k.source_id.empty())
    s += " " + k.source_id.substr(0, k.source_id.find(':') + 9);
  if (!k.series_hash.empty()) s += " +" + k.series_hash.substr(0, 8);
  if (!k.config_hash.empty()) s += " cfg:" + k.config_hash.substr(0, 8);
  return s;
}

std::string series_name(const HistorySeries& s) {
  return fmt::format("{} {}/{}/{}", s.job, s.kernel, s.arch, s.workload);
}

// Metrics worth a plot beside the judged ones: no dot (the workload's own
// and the agent's, as compare shows), not a parameter, measured in at least
// two runs and not constant.
std::vector<std::string> other_metrics(const HistorySeries& s,
                                       const std::vector<std::string>& judged, std::size_t max) {
  std::map<std::string, std::set<double>> seen;
  std::set<std::string> params;
  for (const StoredRun* r : s.runs) {
    for (const auto& [p, _] : r->params) params.insert(p);
    if (!measured(*r)) continue;
    for (const auto& [m, v] : r->metrics)
      if (m.find('.') == std::string::npos && std::isfinite(v)) seen[m].insert(v);
  }
  std::vector<std::string> out;
  for (const auto& [m, values] : seen) {
    if (out.size() >= max) break;
    if (params.count(m) || values.size() < 2) continue;
    if (std::find(judged.begin(), judged.end(), m) != judged.end()) continue;
    out.push_back(m);
  }
  return out;
}

// A link target relative to the page, with URL-unsafe characters escaped.
std::string href(const std::filesystem::path& page_dir, const std::filesystem::path& target) {
  if (target.empty()) return "";
  std::filesystem::path rel = target;
  if (target.is_absolute() && page_dir.is_absolute()) {
    auto r = target.lexically_relative(page_dir);
    if (!r.empty()) rel = r;
  }
  std::string out;
  for (unsigned char c : rel.generic_string()) {
    if (std::isalnum(c) ||
        std::string_view("/-._~:").find(static_cast<char>(c)) != std::string_view::npos)
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return html_escape(out);
}

}  // namespace

std::string_view to_string(DashboardNews::Kind k) {
  switch (k) {
    case DashboardNews::Kind::new_crash:
      return "new crash";
    case DashboardNews::Kind::assertion_failing:
      return "assertion failing";
    case DashboardNews::Kind::metric_out_of_band:
      return "metric out of band";
    case DashboardNews::Kind::metric_changed:
      return "metric changed";
  }
  return "?";
}

std::filesystem::path run_folder(const StoredRun& r) {
  if (r.run_dir.empty()) return {};
  std::filesystem::path p = r.run_dir;
  if (p.is_absolute() || r.results_dir.empty()) return p;
  return std::filesystem::path(r.results_dir) / p;
}

Dashboard build_dashboard(const std::vector<StoredRun>& runs, const DashboardOptions& o) {
  Dashboard d;
  d.runs = runs.size();
  for (const auto& r : runs) d.newest = std::max(d.newest, r.started);
  auto groups = group_series(runs, o.key);
  // Regressions first on the page, then by name: the same store always
  // gives the same page.
  for (std::size_t i = 0; i < groups.size(); ++i) {
    DashboardSeries s;
    s.series = groups[i];
    s.anchor = fmt::format("s{}", i + 1);
    s.judged = judged_metrics(s.series, o.metrics);
    s.metrics = s.judged;
    for (const auto& m : other_metrics(s.series, s.judged, o.other_metrics)) s.metrics.push_back(m);
    s.regressions = find_last_results_regressions(s.series, s.judged, o.band);
    for (const auto& m : s.metrics) {
      std::vector<double> values;
      std::vector<const StoredRun*> at;
      for (const StoredRun* r : s.series.runs)
        if (auto v = value_of(*r, m); v && measured(*r)) {
          values.push_back(*v);
          at.push_back(r);
        }
      for (const auto& cp : find_change_points(values, o.change)) {
        SeriesChange c{m, cp, at[cp.index], values.size() - cp.index <= o.recent};
        s.changes.push_back(c);
      }
    }
    d.series.push_back(std::move(s));
  }

  for (std::size_t i = 0; i < d.series.size(); ++i) {
    const DashboardSeries& s = d.series[i];
    for (const auto& r : s.regressions) {
      const StoredRun* run = s.series.runs.back();
      for (const StoredRun* candidate : s.series.runs)
        if (candidate->started == r.started && candidate->run_dir == r.run_dir) run = candidate;
      DashboardNews::Kind kind =
          r.kind == Regression::Kind::new_crash           ? DashboardNews::Kind::new_crash
          : r.kind == Regression::Kind::assertion_failing ? DashboardNews::Kind::assertion_failing
                                                          : DashboardNews::Kind::metric_out_of_band;
      d.news.push_back({kind, i, run, r.subject, r.detail});
    }
    // Of a metric's change points only the latest is news: it is the level
    // the metric is at now.
    std::map<std::string, const SeriesChange*> latest;
    for (const auto& c : s.changes) latest[c.metric] = &c;
    for (const auto& m : s.metrics) {
      auto it = latest.find(m);
      if (it == latest.end() || !it->second->recent) continue;
      const SeriesChange& c = *it->second;
      d.news.push_back({DashboardNews::Kind::metric_changed, i, c.first, m,
                        fmt::format("{} moved {} ({} → {}, medians of {} and {} runs), p {}", m,
                                    pct(c.point.change), num(c.point.before), num(c.point.after),
                                    c.point.n_before, c.point.n_after, p_text(c.point.p_value))});
    }
  }
  std::stable_sort(d.news.begin(), d.news.end(),
                   [](const DashboardNews& a, const DashboardNews& b) {
                     return static_cast<int>(a.kind) < static_cast<int>(b.kind);
                   });
  return d;
}

std::string dashboard_summary(const Dashboard& d) {
  if (d.news.empty())
    return fmt::format("no regression in {} series ({} runs, newest {})\n", d.series.size(), d.runs,
                       d.newest);
  std::string out = fmt::format("{} regression(s) in {} series (newest run {})\n", d.news.size(),
                                d.series.size(), d.newest);
  for (const auto& n : d.news) {
    const DashboardSeries& s = d.series[n.series];
    std::string where = n.run ? run_folder(*n.run).string() : "";
    std::string what = n.kind == DashboardNews::Kind::new_crash ? n.subject : n.detail;
    // The page has the run and its kernel in columns of their own; the
    // mail says where the new level began in the line.
    if (n.kind == DashboardNews::Kind::metric_changed && n.run)
      what += fmt::format(", since {} ({})", n.run->started, identity_text(n.run->kernel));
    out += fmt::format("- {}: {}: {}{}\n", to_string(n.kind), series_name(s.series), what,
                       where.empty() ? "" : "\n  " + where);
  }
  return out;
}

namespace {

constexpr const char* kOutcomeColour[] = {"#2b7bb9", "#d62728", "#999999", "#bbbbbb"};

const char* colour(Outcome o) {
  switch (o) {
    case Outcome::pass:
      return kOutcomeColour[0];
    case Outcome::fail:
      return kOutcomeColour[1];
    case Outcome::infra:
      return kOutcomeColour[2];
    case Outcome::skip:
      return kOutcomeColour[3];
  }
  return "#000";
}

// One metric of a series over time: a point per run, in time order (x is
// the run's place in the series, so infra runs keep theirs, drawn as
// crosses on the axis); the levels between change points as lines; each
// change point as a dashed line with its change.
std::string svg_plot(const DashboardSeries& s, const std::string& metric,
                     const std::filesystem::path& page_dir, int width, int height) {
  const auto& runs = s.series.runs;
  const double left = 58, right = 12, top = 22, bottom = 34;
  const double pw = width - left - right, ph = height - top - bottom;
  double lo = INFINITY, hi = -INFINITY;
  for (const StoredRun* r : runs)
    if (auto v = value_of(*r, metric); v && measured(*r))
      lo = std::min(lo, *v), hi = std::max(hi, *v);
  std::string svg = fmt::format(
      "<svg class=\"plot\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{} over time\">\n",
      width, height, width, height, html_escape(metric));
  svg += fmt::format(
      "<text x=\"{}\" y=\"14\" class=\"ptitle\">{}{}</text>\n", left, html_escape(metric),
      std::find(s.judged.begin(), s.judged.end(), metric) != s.judged.end() ? " (judged)" : "");
  if (!std::isfinite(lo)) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\">no measured value</text></svg>\n",
                       left, top + ph / 2);
    return svg;
  }
  if (hi == lo) lo -= 1, hi += 1;
  double pad = (hi - lo) * 0.08;
  lo -= pad, hi += pad;
  std::size_t n = runs.size();
  auto x_of = [&](std::size_t i) {
    return left + (n == 1 ? pw / 2 : pw * static_cast<double>(i) / static_cast<double>(n - 1));
  };
  auto y_of = [&](double v) { return top + ph * (1 - (v - lo) / (hi - lo)); };
  // Frame, y ticks, x labels (dates of the first, middle and last run).
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fbfbfb\" stroke=\"#ccc\"/>\n",
      left, top, pw, ph);
  for (int t = 0; t <= 2; ++t) {
    double v = lo + pad + (hi - lo - 2 * pad) * t / 2.0;
    svg += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" class=\"axis\" text-anchor=\"end\">{}</text>\n",
        left, left + pw, y_of(v), y_of(v), left - 4, y_of(v) + 4, html_escape(num(v)));
  }
  std::set<std::size_t> labelled = {0, n / 2, n - 1};
  for (std::size_t i : labelled)
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"axis\" text-anchor=\"{}\">{}</text>\n",
                       x_of(i), height - 8,
                       i == 0                ? "start"
                       : i == n - 1 && n > 1 ? "end"
                                             : "middle",
                       html_escape(day(runs[i]->started)));
  // Levels and change points of this metric.
  std::vector<std::size_t> bounds;  // run indices where a level starts
  std::vector<const SeriesChange*> changes;
  for (const auto& c : s.changes)
    if (c.metric == metric) changes.push_back(&c);
  auto index_of = [&](const StoredRun* r) {
    return static_cast<std::size_t>(std::find(runs.begin(), runs.end(), r) - runs.begin());
  };
  for (std::size_t k = 0; k < changes.size(); ++k) {
    const SeriesChange& c = *changes[k];
    std::size_t i = index_of(c.first);
    double x = i == 0 ? x_of(0) : (x_of(i - 1) + x_of(i)) / 2;
    double from =
        k == 0
            ? x_of(0)
            : (x_of(index_of(changes[k - 1]->first) - 1) + x_of(index_of(changes[k - 1]->first))) /
                  2;
    svg += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"level\"/>\n", from,
        x, y_of(c.point.before), y_of(c.point.before));
    double to =
        k + 1 < changes.size()
            ? (x_of(index_of(changes[k + 1]->first) - 1) + x_of(index_of(changes[k + 1]->first))) /
                  2
            : x_of(n - 1);
    svg += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"level\"/>\n", x, to,
        y_of(c.point.after), y_of(c.point.after));
    svg += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" class=\"cp\"><title>change point: "
        "{} "
        "from {} (p {})</title></line>\n"
        "<text x=\"{:.1f}\" y=\"{}\" class=\"cplabel\" text-anchor=\"{}\">{} {}</text>\n",
        x, x, top, top + ph, pct(c.point.change), html_escape(c.first->started),
        p_text(c.point.p_value), x + (x > left + pw * 0.75 ? -4 : 4), top + 12,
        x > left + pw * 0.75 ? "end" : "start", pct(c.point.change),
        html_escape(day(c.first->started)));
  }
  // The runs.
  for (std::size_t i = 0; i < n; ++i) {
    const StoredRun& r = *runs[i];
    auto v = value_of(r, metric);
    std::string tip =
        fmt::format("{} · {} · {} · {}{}", r.started, identity_text(r.kernel), to_string(r.outcome),
                    v ? num(*v) : "no value", r.reason.empty() ? "" : " · " + r.reason);
    std::string link = href(page_dir, run_folder(r));
    svg += link.empty() ? "<g>" : "<a href=\"" + link + "/\">";
    if (v && measured(r))
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\" class=\"pt {}\"><title>{}"
          "</title></circle>",
          x_of(i), y_of(*v), r.outcome == Outcome::fail ? 4.5 : 3.5, colour(r.outcome),
          to_string(r.outcome), html_escape(tip));
    else  // infra, skip, or no value: a cross on the axis, apart from the data
      svg += fmt::format(
          "<path d=\"M{0:.1f},{1:.1f}l6,6m0,-6l-6,6\" stroke=\"{2}\" stroke-width=\"2\" "
          "class=\"pt {3}\"><title>{4}</title></path>",
          x_of(i) - 3, top + ph - 9, colour(r.outcome), to_string(r.outcome), html_escape(tip));
    svg += link.empty() ? "</g>\n" : "</a>\n";
  }
  svg += "</svg>\n";
  return svg;
}

const char* kStyle = R"(
body{font-family:sans-serif;margin:1.2em 2em;color:#222;max-width:82em}
h1{margin:0 0 .2em}h2{margin:1.4em 0 .3em;font-size:1.2em}
.meta{color:#555;margin:0 0 .8em}
.filters{background:#f3f3f3;padding:.4em .8em;border-radius:4px;margin:.6em 0}
.filters label{margin-right:1.2em}
table{border-collapse:collapse;margin:.4em 0 .8em}
td,th{border:1px solid #ccc;padding:.2em .55em;text-align:left;vertical-align:top}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.news td{background:#fff6f6}.news tr.metric_changed td,.news tr.metric_out_of_band td{background:#fffbea}
.kind{font-weight:bold;white-space:nowrap}.new_crash .kind,.assertion_failing .kind{color:#b00}
.metric_changed .kind,.metric_out_of_band .kind{color:#a36a00}
.ok{background:#eef8ee;border:1px solid #9c9;padding:.5em .8em;border-radius:4px}
.bad{background:#fdeeee;border:1px solid #d99;padding:.5em .8em;border-radius:4px;font-weight:bold}
.series{border-top:2px solid #ddd;margin-top:1.2em}
.badge{display:inline-block;padding:0 .4em;border-radius:3px;font-size:85%;color:#fff;background:#b00}
.badge.amber{background:#c77d00}.badge.grey{background:#888}
.pass{color:#2b7bb9}.fail{color:#d62728;font-weight:bold}.infra,.skip{color:#888}
svg.plot{margin:.2em .6em .2em 0;border-radius:3px}
svg .axis{font-size:11px;fill:#555}svg .ptitle{font-size:13px;font-weight:bold;fill:#333}
svg .level{stroke:#c77d00;stroke-width:1.5;opacity:.7}
svg .cp{stroke:#c77d00;stroke-width:1.5;stroke-dasharray:4 3}
svg .cplabel{font-size:11px;fill:#a36a00;font-weight:bold}
.small{font-size:90%;color:#555}code{background:#f4f4f4}
details{margin:.3em 0}td.t{white-space:nowrap}
)";

const char* kScript = R"(
function khFilter(){
  var want={};
  document.querySelectorAll('.filters select').forEach(function(s){want[s.name]=s.value;});
  document.querySelectorAll('[data-kernel]').forEach(function(e){
    var show=true;
    for(var k in want){if(want[k]&&e.getAttribute('data-'+k)!==want[k])show=false;}
    e.style.display=show?'':'none';
  });
}
)";

std::string data_attrs(const HistorySeries& s) {
  return fmt::format(" data-kernel=\"{}\" data-arch=\"{}\" data-workload=\"{}\"",
                     html_escape(s.kernel), html_escape(s.arch), html_escape(s.workload));
}

std::string run_links(const std::filesystem::path& page_dir, const StoredRun& r) {
  std::filesystem::path folder = run_folder(r);
  if (folder.empty()) return "-";
  std::string base = href(page_dir, folder);
  return fmt::format(
      "<a href=\"{0}/\">folder</a> · <a href=\"{0}/console.log\">console.log</a> · "
      "<a href=\"{0}/result.json\">result.json</a>",
      base);
}

}  // namespace

std::string dashboard_html(const Dashboard& d, const std::filesystem::path& page_dir,
                           const std::string& source) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<title>kharness history</title>\n<style>" + std::string(kStyle) + "</style>\n";
  h += "<script>" + std::string(kScript) + "</script></head><body>\n";
  h += "<h1>kharness history</h1>\n";
  h += fmt::format(
      "<p class=meta>{} runs in {} series · newest run {} · store <code>{}</code></p>\n", d.runs,
      d.series.size(), html_escape(d.newest), html_escape(source));

  // Filters: every kernel, arch and workload present.
  std::set<std::string> kernels, arches, workloads;
  for (const auto& s : d.series) {
    kernels.insert(s.series.kernel);
    arches.insert(s.series.arch);
    workloads.insert(s.series.workload);
  }
  auto select = [&](const char* name, const std::set<std::string>& values) {
    std::string out = fmt::format(
        "<label>{} <select name=\"{}\" onchange=\"khFilter()\"><option value=\"\">all"
        "</option>",
        name, name);
    for (const auto& v : values) out += fmt::format("<option>{}</option>", html_escape(v));
    return out + "</select></label>";
  };
  h += "<div class=filters>Show: " + select("kernel", kernels) + select("arch", arches) +
       select("workload", workloads) + "</div>\n";

  // What changed: the first screen.
  h += "<h2 id=news>Regressions and changes</h2>\n";
  if (d.news.empty()) {
    h += fmt::format(
        "<p class=ok>No regression: the newest run of each of the {} series is within its band, "
        "with no new crash, no assertion that started failing, and no recent change point.</p>\n",
        d.series.size());
  } else {
    h += fmt::format("<p class=bad>{} regression(s) or change(s) in the newest runs.</p>\n",
                     d.news.size());
    h += "<table class=news><tr><th>what</th><th>series</th><th>detail</th><th>run</th>"
         "<th>kernel</th><th>files</th></tr>\n";
    for (const auto& n : d.news) {
      const DashboardSeries& s = d.series[n.series];
      std::string kind(to_string(n.kind));
      std::string cls = kind;
      std::replace(cls.begin(), cls.end(), ' ', '_');
      h += fmt::format(
          "<tr class=\"{}\"{}><td class=kind>{}</td><td><a href=\"#{}\">{}</a></td><td>{}</td>"
          "<td class=t>{}</td><td>{}</td><td class=t>{}</td></tr>\n",
          cls, data_attrs(s.series), kind, s.anchor, html_escape(series_name(s.series)),
          html_escape(n.kind == DashboardNews::Kind::new_crash ? n.subject : n.detail),
          n.run ? html_escape(n.run->started) : "-",
          n.run ? html_escape(identity_text(n.run->kernel)) : "-",
          n.run ? run_links(page_dir, *n.run) : "-");
    }
    h += "</table>\n";
  }

  // Contents: one line per series.
  h += "<h2>Series</h2>\n<table><tr><th>series</th><th>runs</th><th>newest</th><th>outcome</th>"
       "<th>news</th></tr>\n";
  for (std::size_t i = 0; i < d.series.size(); ++i) {
    const DashboardSeries& s = d.series[i];
    int news = 0;
    for (const auto& n : d.news)
      if (n.series == i) ++news;
    const StoredRun& last = *s.series.runs.back();
    h += fmt::format(
        "<tr{}><td><a href=\"#{}\">{}</a></td><td class=num>{}</td><td>{}</td><td "
        "class={}>{}</td><td>{}</td></tr>\n",
        data_attrs(s.series), s.anchor, html_escape(series_name(s.series)), s.series.runs.size(),
        html_escape(last.started), to_string(last.outcome), to_string(last.outcome),
        news ? fmt::format("<span class=badge>{}</span>", news) : "");
  }
  h += "</table>\n";

  for (std::size_t i = 0; i < d.series.size(); ++i) {
    const DashboardSeries& s = d.series[i];
    h += fmt::format("<section class=series id=\"{}\"{}>\n<h2>{}</h2>\n", s.anchor,
                     data_attrs(s.series), html_escape(series_name(s.series)));
    int counts[4] = {0, 0, 0, 0};
    for (const StoredRun* r : s.series.runs) ++counts[static_cast<int>(r->outcome)];
    h += fmt::format(
        "<p class=small>{} runs: {} pass, {} fail, {} infra, {} skip (infra and skip runs are the "
        "crosses on the axis, apart from the data). Points link to their run.</p>\n",
        s.series.runs.size(), counts[static_cast<int>(Outcome::pass)],
        counts[static_cast<int>(Outcome::fail)], counts[static_cast<int>(Outcome::infra)],
        counts[static_cast<int>(Outcome::skip)]);
    for (const auto& r : s.regressions)
      h += fmt::format("<p><span class=badge>{}</span> {}</p>\n", to_string(r.kind),
                       html_escape(r.detail));
    for (const auto& c : s.changes)
      h += fmt::format(
          "<p><span class=\"badge {}\">change point</span> {} moved {} ({} → {}) from {} on {}, "
          "p {}</p>\n",
          c.recent ? "amber" : "grey", html_escape(c.metric), pct(c.point.change),
          num(c.point.before), num(c.point.after), html_escape(c.first->started),
          html_escape(identity_text(c.first->kernel)), p_text(c.point.p_value));
    if (s.metrics.empty()) h += "<p class=small>No key metric: name one with --metric.</p>\n";
    for (std::size_t m = 0; m < s.metrics.size(); ++m)
      h += m < s.judged.size() ? svg_plot(s, s.metrics[m], page_dir, 820, 220)
                               : svg_plot(s, s.metrics[m], page_dir, 400, 160);

    // The runs, newest first; the older ones folded.
    auto row = [&](const StoredRun& r) {
      std::vector<std::string> titles;
      for (const auto& f : r.reports)
        if (!f.tolerated) titles.push_back(f.title);
      std::string values;
      for (const auto& m : s.judged)
        values += fmt::format("<td class=num>{}</td>", num(value_of(r, m).value_or(NAN)));
      return fmt::format(
          "<tr><td class=t>{}</td><td class={}>{}</td><td>{}</td>{}<td>{}</td><td class=t>{}</td>"
          "</tr>\n",
          html_escape(r.started), to_string(r.outcome), to_string(r.outcome),
          html_escape(identity_text(r.kernel)), values,
          html_escape(titles.empty() ? r.reason : fmt::format("{}", fmt::join(titles, "; "))),
          run_links(page_dir, r));
    };
    std::string head =
        "<table><tr><th>started</th><th>outcome</th><th>kernel (release commit "
        "+series cfg:config)</th>";
    for (const auto& m : s.judged) head += "<th>" + html_escape(m) + "</th>";
    head += "<th>reason / reports</th><th>files</th></tr>\n";
    const auto& runs = s.series.runs;
    constexpr std::size_t kShown = 10;
    h += head;
    for (std::size_t k = 0; k < runs.size() && k < kShown; ++k)
      h += row(*runs[runs.size() - 1 - k]);
    h += "</table>\n";
    if (runs.size() > kShown) {
      h += fmt::format("<details><summary>{} older runs</summary>\n", runs.size() - kShown) + head;
      for (std::size_t k = kShown; k < runs.size(); ++k) h += row(*runs[runs.size() - 1 - k]);
      h += "</table></details>\n";
    }
    h += "</section>\n";
  }
  h += "</body></html>\n";
  return h;
}

Dashboard write_dashboard(const std::vector<StoredRun>& runs, const DashboardOptions& options,
                          const std::filesystem::path& dir, const std::string& source) {
  std::filesystem::path abs = std::filesystem::absolute(dir);
  Dashboard d = build_dashboard(runs, options);
  ensure_dir(abs);
  write_file(abs / "index.html", dashboard_html(d, abs, source));
  return d;
}

}  // namespace kh
