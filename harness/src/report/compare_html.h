// kharness compare, the HTML report: the same tables as the Markdown one,
// and plots drawn by gnuplot as SVG files next to it (plots/*.svg, with
// their data files and the gnuplot script, compare.gp, so a plot can be
// redrawn by hand: `cd DIR && gnuplot compare.gp`).
//
// Plots per (workload, arch):
// - "Dying memory cgroups": metrics named dying*, and sampled series
//   "<family>.<i>" (dying_at.<i>: the dying count against iterations),
//   with the line y = x (one dying memcg per iteration) for reference;
// - "Probe latency": probe*_ms metrics;
// - "THP splits": metrics with "thp" and "split" in the name;
// - "Other metrics": the rest of the shown metrics.
// Each metric: every data run as a point per kernel, and the median with
// its min–max bar. Metrics with one value on every run of every kernel
// are left out (nothing to see).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "report/compare_model.h"
#include "util/process.h"

namespace kh {

struct PlotSpec {
  std::string file;       // the SVG, relative to the report folder ("plots/g0-m1.svg")
  std::string section;    // one of the sections above
  std::string title;      // the metric or series name
  std::size_t group = 0;  // index into Comparison::groups
  std::string script;     // gnuplot commands after `set terminal`: output, settings, plot
  std::vector<std::pair<std::string, std::string>> data;  // data file (relative) -> contents
};

// Pure: which plots, their data and their gnuplot commands.
std::vector<PlotSpec> compare_plots(const Comparison& c);

// The whole gnuplot script for `plots` (terminal first).
std::string gnuplot_script(const std::vector<PlotSpec>& plots);

// Pure: the HTML page; it references each plot's file with <img>.
std::string compare_html(const Comparison& c, const std::vector<PlotSpec>& plots);

// Writes plots/ (data files), compare.gp and compare.html into `dir` and
// runs gnuplot there. Throws InfraError when gnuplot is missing or fails
// (compare.html is written first either way).
void write_compare_html(const Comparison& c, const std::filesystem::path& dir,
                        ProcessRunner& runner);

}  // namespace kh
