// kharness compare, the model: runs of two or more kernels grouped by
// (workload, arch), each metric's distribution per kernel, its change
// against the first kernel (the base) and whether that change is
// significant, console report titles side by side, assertions whose
// verdict differs. Pure: built from RunResults (result.json read back),
// rendered by report/compare_render.h and report/compare_html.h.
//
// Rules, also in README.md:
// - Data: runs whose outcome is pass or fail (a failed assertion or a
//   kernel splat is the kernel's result). infra and skip runs are counted
//   per kernel and never used as data.
// - Significant: Welch's t-test p < alpha AND Mann–Whitney U p < alpha
//   (alpha = 0.05), both two-sided, each kernel against the base. The two
//   must agree: Welch weighs the means (and resolves constant or nearly
//   constant counters), Mann–Whitney only the order, so one outlier run
//   cannot make a change on its own. With fewer than 4 data runs a kernel
//   Mann–Whitney cannot reach 0.05, so nothing is significant: the row
//   says so.
// - Too few runs: a cell that is not significant only because Mann–Whitney
//   cannot reach alpha with its runs, while its data show a change, is
//   `too_few_runs` (compare_confidence.h), never "no change": the headline
//   says what the data show and how many repeats would settle it.
// - Assertion verdicts: every expression any kernel's runs were judged
//   by is evaluated on every kernel's data runs (a kernel's expect: list
//   replaces the workload's, so the kernels are usually judged by
//   different lists). Per kernel: "pass" (held in every run), "fail"
//   (held in none), "mixed". It flips when the kernels' verdicts differ.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/stats.h"
#include "core/run_result.h"
#include "report/compare_confidence.h"

namespace kh {

struct CompareOptions {
  double alpha = 0.05;
  // The kernels in report order, the base first. Empty: in the order the
  // runs list them.
  std::vector<std::string> kernels;
  // Metrics shown beside the default ones (names without a dot: the
  // workload's derived metrics and the agent's). Every metric is in the
  // model either way; this only marks them `shown`.
  std::vector<std::string> extra_metrics;
  bool all_metrics = false;  // mark every metric shown
};

struct MetricCell {
  std::vector<double> values;  // one per data run, in repeat order
  std::vector<int> repeats;    // the repeat of each value
  Summary summary;
  // Against the base; the base's own cell leaves these at their defaults.
  double change = 0;  // relative change of the medians
  TestResult welch, mann_whitney;
  bool significant = false;
  // How sure (report/compare_confidence.h): the change's 95 % bootstrap
  // interval, what the cell says, and for too_few_runs the repeats a
  // kernel that would settle it.
  ChangeInterval interval;
  CompareCall call = CompareCall::no_change;
  bool ranges_disjoint = false;
  int repeats_needed = 0;
};

struct MetricRow {
  std::string name;
  std::vector<MetricCell> cells;  // one per kernel, in Comparison::kernels order
  bool shown = false;             // in the Markdown table and the plots
  bool differs = false;           // some kernel is significant against the base
  // The rule said no: a reason to show ("n < 4 for Mann-Whitney"), or "".
  std::string note;
};

struct KernelRuns {
  std::string kernel;
  std::string release;
  int pass = 0, fail = 0, infra = 0, skip = 0;
  std::vector<std::string> infra_reasons;  // distinct, in order
  // Console report title -> runs that had it (a title counts once a run).
  std::map<std::string, int> titles;
  std::map<std::string, bool> tolerated;      // title -> tolerated on this kernel
  std::map<std::string, std::string> params;  // of its first run
  int data_runs() const { return pass + fail; }
};

struct AssertionVerdict {
  int held = 0, runs = 0;       // over the kernel's data runs where it could be evaluated
  bool own = false;             // this kernel's runs were judged by it
  std::string error;            // could not be evaluated (unknown name...)
  std::string verdict() const;  // "pass", "fail", "mixed", "-" (no runs)
};

struct AssertionRow {
  std::string expression;
  std::vector<AssertionVerdict> per_kernel;
  bool flips = false;
};

// One (workload, arch): every kernel that ran it.
struct CompareGroup {
  std::string workload;  // the job's workload id
  std::string arch;
  std::string key_metric;
  std::vector<KernelRuns> runs;    // one per kernel
  std::vector<MetricRow> metrics;  // key metric first, then by name
  std::vector<AssertionRow> assertions;
  // Sampled series: metric families "<name>.<integer>" (dying_at.500): the
  // family name -> its x values in order. Their MetricRows are in `metrics`.
  std::map<std::string, std::vector<long>> series;
  // Parameters that are not the same on every kernel ("iterations: 500 on
  // a, 1000 on b"): result folders of different jobs compare, with a warning.
  std::vector<std::string> param_differences;
};

struct Comparison {
  std::vector<std::string> kernels;  // the base first
  double alpha = 0.05;
  std::vector<CompareGroup> groups;  // by workload, then arch
  std::vector<std::string> sources;  // result folders read, for the report header
};

// Throws InputError when fewer than two kernels remain, or a kernel named in
// options.kernels has no runs.
Comparison compare_runs(const std::vector<RunResult>& runs, const CompareOptions& options = {});

// Plain-text p for tables: "0.0079", "<1e-6", "-" (NaN).
std::string format_p(double p);
// "+12.5%", "-99.9%", "+inf", "0%".
std::string format_change(double change);
// Short numbers: 2000, 3.25, 0.0123, 1.2e+06.
std::string format_value(double v);

}  // namespace kh
