#include "report/compare_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "report/compare_render.h"
#include "util/error.h"
#include "util/files.h"
#include "util/html.h"

namespace kh {
namespace {

constexpr const char* kDying = "Dying memory cgroups";
constexpr const char* kProbe = "Probe latency";
constexpr const char* kThp = "THP splits";
constexpr const char* kOther = "Other metrics";
constexpr const char* kSections[] = {kDying, kProbe, kThp, kOther};

std::string section_of(const std::string& name) {
  if (name.rfind("dying", 0) == 0) return kDying;
  if (name.find("probe") != std::string::npos && name.size() > 3 &&
      name.compare(name.size() - 3, 3, "_ms") == 0)
    return kProbe;
  if (name.find("thp") != std::string::npos && name.find("split") != std::string::npos) return kThp;
  return kOther;
}

// A gnuplot string literal.
std::string gq(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string num(double v) {
  return fmt::format("{:.10g}", v);
}

std::string xtics(const std::vector<std::string>& kernels) {
  std::vector<std::string> tics;
  for (std::size_t k = 0; k < kernels.size(); ++k)
    tics.push_back(fmt::format("{} {}", gq(kernels[k]), k));
  return fmt::format("set xtics ({})\n", fmt::join(tics, ", "));
}

bool all_one_value(const MetricRow& m) {
  std::set<double> values;
  for (const auto& cell : m.cells) values.insert(cell.values.begin(), cell.values.end());
  return values.size() <= 1;
}

PlotSpec distribution_plot(const Comparison& c, std::size_t gi, std::size_t mi,
                           const MetricRow& m) {
  PlotSpec p;
  p.group = gi;
  p.title = m.name;
  p.section = section_of(m.name);
  std::string stem = fmt::format("plots/g{}-m{}", gi, mi);
  p.file = stem + ".svg";
  std::string data;
  // Block 0: median with min-max, one line per kernel.
  for (std::size_t k = 0; k < m.cells.size(); ++k) {
    const auto& s = m.cells[k].summary;
    if (m.cells[k].values.empty()) continue;
    data += fmt::format("{} {} {} {}\n", k, num(s.median), num(s.min), num(s.max));
  }
  data += "\n\n";
  // Block 1: every run, spread a little around its kernel's x.
  for (std::size_t k = 0; k < m.cells.size(); ++k) {
    const auto& vals = m.cells[k].values;
    for (std::size_t j = 0; j < vals.size(); ++j) {
      double x = static_cast<double>(k) +
                 (static_cast<double>(j) - static_cast<double>(vals.size() - 1) / 2) * 0.05;
      data += fmt::format("{} {} {}\n", num(x), num(vals[j]), k + 1);
    }
  }
  p.data.push_back({stem + ".dat", data});
  std::string title = m.name + (m.differs ? " (significant change)" : "");
  p.script = fmt::format("set output {}\n", gq(p.file));
  p.script += fmt::format("set title {}\n", gq(title));
  p.script +=
      fmt::format("set xrange [-0.6:{}]\n", num(static_cast<double>(c.kernels.size()) - 0.4));
  p.script += xtics(c.kernels);
  p.script += "set xlabel \"kernel\"\nset ylabel " + gq(m.name) + "\n";
  p.script += fmt::format(
      "plot {0} index 0 using 1:2:3:4 with yerrorbars lc rgb \"#222222\" pt 6 ps 2 lw 1.5 "
      "title \"median, min-max\", \\\n     {0} index 1 using 1:2:3 with points pt 7 ps 0.8 "
      "lc variable title \"runs\"\n",
      gq(stem + ".dat"));
  return p;
}

PlotSpec series_plot(const Comparison& c, std::size_t gi, std::size_t si, const CompareGroup& g,
                     const std::string& family, const std::vector<long>& xs) {
  PlotSpec p;
  p.group = gi;
  p.title = family + " against iterations";
  p.section = section_of(family);
  std::string stem = fmt::format("plots/g{}-s{}", gi, si);
  p.file = stem + ".svg";
  std::string data;
  for (std::size_t k = 0; k < c.kernels.size(); ++k) {
    for (long x : xs) {
      for (const MetricRow& m : g.metrics) {
        if (m.name != family + "." + std::to_string(x) || m.cells[k].values.empty()) continue;
        const auto& s = m.cells[k].summary;
        data += fmt::format("{} {} {} {}\n", x, num(s.median), num(s.min), num(s.max));
      }
    }
    data += "\n\n";
  }
  p.data.push_back({stem + ".dat", data});
  p.script = fmt::format("set output {}\n", gq(p.file));
  p.script += fmt::format("set title {}\n", gq(family + ": median and min-max over the runs"));
  p.script += "set xlabel \"iteration\"\nset ylabel " + gq(family) + "\n";
  p.script += "set autoscale x\nset xtics autofreq\nset key top left\n";
  std::vector<std::string> clauses;
  for (std::size_t k = 0; k < c.kernels.size(); ++k)
    clauses.push_back(fmt::format("{} index {} using 1:2:3:4 with yerrorlines lw 2 pt 7 title {}",
                                  gq(stem + ".dat"), k, gq(c.kernels[k])));
  if (family.rfind("dying", 0) == 0)
    clauses.push_back("x with lines dt 2 lc rgb \"#888888\" title \"one per iteration\"");
  p.script += "plot " + fmt::format("{}", fmt::join(clauses, ", \\\n     ")) + "\n";
  return p;
}

}  // namespace

std::vector<PlotSpec> compare_plots(const Comparison& c) {
  std::vector<PlotSpec> plots;
  for (std::size_t gi = 0; gi < c.groups.size(); ++gi) {
    const CompareGroup& g = c.groups[gi];
    std::size_t si = 0;
    for (const auto& [family, xs] : g.series)
      if (xs.size() >= 2) plots.push_back(series_plot(c, gi, si++, g, family, xs));
    for (std::size_t mi = 0; mi < g.metrics.size(); ++mi) {
      const MetricRow& m = g.metrics[mi];
      if (!m.shown || all_one_value(m)) continue;
      plots.push_back(distribution_plot(c, gi, mi, m));
    }
  }
  return plots;
}

std::string gnuplot_script(const std::vector<PlotSpec>& plots) {
  std::string s =
      "# Written by kharness compare; redraw with: gnuplot compare.gp\n"
      "set terminal svg size 560,360 dynamic font \"sans,11\" background rgb \"white\"\n"
      "set termoption noenhanced\n"
      "set grid ytics\n"
      "set offsets 0, 0, graph 0.08, graph 0.08\n";
  for (const auto& p : plots) s += "\n" + p.script + "unset title\n";
  return s;
}

std::string compare_html(const Comparison& c, const std::vector<PlotSpec>& plots) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>kharness compare</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;color:#222;max-width:80em}\n"
      "table{border-collapse:collapse;margin:0.5em 0 1em}\n"
      "td,th{border:1px solid #bbb;padding:0.25em 0.6em;text-align:left}\n"
      "th{background:#eee}\ntd.num{text-align:right;font-variant-numeric:tabular-nums}\n"
      "tr.sig td{background:#fff3c4}\ntr.few td{background:#e6eefc}\n.changes{font-weight:bold}\n"
      "figure{display:inline-block;margin:0.5em}\nfigcaption{font-size:90%;color:#555}\n"
      "code{background:#f4f4f4}\n</style></head><body>\n";
  h += "<h1>kharness compare</h1>\n";
  h += fmt::format(
      "<p>Base: <b>{}</b>; compared: {}.</p>\n", html_escape(c.kernels[0]),
      html_escape(fmt::format("{}", fmt::join(c.kernels.begin() + 1, c.kernels.end(), ", "))));
  h += "<p>Rule: " + html_escape(significance_rule(c.alpha)) +
       ". Data: pass and fail runs; infra and skip runs are counted, never used as data.</p>\n";
  if (!c.sources.empty())
    h += "<p>Results: " + html_escape(fmt::format("{}", fmt::join(c.sources, ", "))) + "</p>\n";

  const std::size_t nk = c.kernels.size();
  for (std::size_t gi = 0; gi < c.groups.size(); ++gi) {
    const CompareGroup& g = c.groups[gi];
    h += fmt::format("<h2>{} on {}</h2>\n", html_escape(g.workload), html_escape(g.arch));
    h += "<table><tr><th>kernel</th><th>release</th><th>pass</th><th>fail</th><th>infra</th>"
         "<th>skip</th><th>infra reasons (not used as data)</th></tr>\n";
    for (const auto& kr : g.runs)
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td "
          "class=num>{}</td><td class=num>{}</td><td>{}</td></tr>\n",
          html_escape(kr.kernel), html_escape(kr.release), kr.pass, kr.fail, kr.infra, kr.skip,
          html_escape(fmt::format("{}", fmt::join(kr.infra_reasons, "; "))));
    h += "</table>\n";

    for (const auto& d : g.param_differences)
      h += "<p><b>Warning:</b> the kernels ran with different parameters: " + html_escape(d) +
           ".</p>\n";
    h += "<p class=changes>" + html_escape(compare_headline(c, g)) + "</p>\n";

    h += "<table><tr><th>metric</th>";
    for (const auto& k : c.kernels) h += "<th>" + html_escape(k) + "<br>median (min–max, n)</th>";
    for (std::size_t k = 1; k < nk; ++k) {
      std::string suffix = nk > 2 ? "<br>" + html_escape(c.kernels[k]) : "";
      h += "<th>change (95 % CI)" + suffix + "</th><th>p Welch / MWU" + suffix +
           "</th><th>significant" + suffix + "</th>";
    }
    h += "</tr>\n";
    for (const MetricRow& m : g.metrics) {
      if (!m.shown) continue;
      bool few = std::any_of(m.cells.begin(), m.cells.end(), [](const MetricCell& cell) {
        return cell.call == CompareCall::too_few_runs;
      });
      h += m.differs ? "<tr class=sig>" : few ? "<tr class=few>" : "<tr>";
      h += "<td>" + html_escape(m.name) + (m.name == g.key_metric ? " (key)" : "") + "</td>";
      for (const auto& cell : m.cells) {
        std::string d = "-";
        if (!cell.values.empty())
          d = fmt::format("{} ({}–{}, n={})", format_value(cell.summary.median),
                          format_value(cell.summary.min), format_value(cell.summary.max),
                          cell.summary.n);
        h += "<td class=num>" + html_escape(d) + "</td>";
      }
      for (std::size_t k = 1; k < nk; ++k) {
        const MetricCell& cell = m.cells[k];
        std::string verdict = significance_text(cell);
        if (cell.call == CompareCall::changed)
          verdict = "<b>yes</b>";
        else
          verdict = html_escape(verdict);
        h += "<td class=num>" + html_escape(change_with_interval(cell)) + "</td><td class=num>" +
             html_escape(format_p(cell.welch.p_value) + " / " +
                         format_p(cell.mann_whitney.p_value)) +
             "</td><td>" + verdict + "</td>";
      }
      h += "</tr>\n";
    }
    h += "</table>\n";

    std::set<std::string> titles;
    for (const auto& kr : g.runs)
      for (const auto& [t, _] : kr.titles) titles.insert(t);
    h += "<h3>Console reports</h3>\n";
    if (titles.empty()) {
      h += "<p>None on any kernel.</p>\n";
    } else {
      h += "<table><tr><th>title</th>";
      for (const auto& k : c.kernels) h += "<th>" + html_escape(k) + "</th>";
      h += "</tr>\n";
      for (const auto& t : titles) {
        h += "<tr><td>" + html_escape(t) + "</td>";
        for (const auto& kr : g.runs) {
          auto it = kr.titles.find(t);
          h += fmt::format("<td>{}/{} runs{}</td>", it == kr.titles.end() ? 0 : it->second,
                           kr.pass + kr.fail + kr.infra,
                           kr.tolerated.count(t) ? " (tolerated)" : "");
        }
        h += "</tr>\n";
      }
      h += "</table>\n";
    }

    h += "<h3>Assertions that flip</h3>\n";
    bool any = false;
    for (const auto& a : g.assertions) any = any || a.flips;
    if (!any) {
      h += "<p>None: every assertion has the same verdict on every kernel.</p>\n";
    } else {
      h += "<table><tr><th>assertion</th>";
      for (const auto& k : c.kernels) h += "<th>" + html_escape(k) + "</th>";
      h += "</tr>\n";
      for (const auto& a : g.assertions) {
        if (!a.flips) continue;
        h += "<tr><td><code>" + html_escape(a.expression) + "</code></td>";
        for (const auto& v : a.per_kernel)
          h += "<td>" +
               html_escape(v.runs == 0 ? "-"
                                       : fmt::format("{} ({}/{} held{})", v.verdict(), v.held,
                                                     v.runs, v.own ? "" : ", not its own")) +
               "</td>";
        h += "</tr>\n";
      }
      h += "</table>\n";
    }

    for (const char* section : kSections) {
      bool header = false;
      for (const auto& p : plots) {
        if (p.group != gi || p.section != section) continue;
        if (!header) h += fmt::format("<h3>{}</h3>\n", html_escape(section));
        header = true;
        h += fmt::format(
            "<figure><img src=\"{}\" alt=\"{}\" width=560 "
            "height=360><figcaption>{}</figcaption></figure>\n",
            html_escape(p.file), html_escape(p.title), html_escape(p.title));
      }
    }
  }
  h += "</body></html>\n";
  return h;
}

void write_compare_html(const Comparison& c, const std::filesystem::path& dir,
                        ProcessRunner& runner) {
  auto plots = compare_plots(c);
  ensure_dir(dir / "plots");
  for (const auto& p : plots)
    for (const auto& [file, content] : p.data) write_file(dir / file, content);
  write_file(dir / "compare.gp", gnuplot_script(plots));
  write_file(dir / "compare.html", compare_html(c, plots));
  if (plots.empty()) return;
  if (find_program("gnuplot").empty())
    throw InfraError("compare: gnuplot not found (apt-get install gnuplot-nox); the plots of " +
                     (dir / "compare.html").string() + " are missing");
  Command cmd;
  cmd.argv = {"gnuplot", "compare.gp"};
  cmd.cwd = dir;
  cmd.timeout = std::chrono::seconds(120);
  ProcessResult r = runner.run(cmd);
  if (!r.ok())
    throw InfraError(
        fmt::format("compare: gnuplot failed (exit {}): {}", r.exit_code, r.output.substr(0, 500)));
}

}  // namespace kh
