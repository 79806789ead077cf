// Regression rules over the history: the newest run of a series against
// the runs before it. Pure functions of StoredRuns, so every rule is a unit
// test with made-up numbers.
//
// A series is one job's kernel label × arch × workload id: the same thing
// measured night after night while the kernel under the label moves (a new
// commit, a new series version); or, keyed by identity, the runs of one
// exact kernel (same source, series and config). The rules:
//
//  - new crash: a console report title (not tolerated) in the newest run
//    that none of the baseline runs had;
//  - assertion started failing: an assertion that fails (or cannot be
//    evaluated) in the newest run and held in the latest baseline run that
//    evaluated it (one that has always failed, a known-bad baseline, is no
//    news);
//  - metric out of band: a judged metric (the workload's key metric, and
//    any metric asked for) outside median ± max(k × 1.4826 × MAD,
//    floor_rel × |median|, floor_abs) of the baseline, which needs at least
//    min_baseline runs that measured it.
//
// The baseline is the up to `last` runs before the newest one whose
// outcome is pass or fail (infra and skip runs measured nothing about the
// kernel). An infra or skip newest run is not judged.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "history/store.h"

namespace kh {

struct BandRule {
  int last = 10;            // baseline: at most this many runs before the newest
  int min_baseline = 3;     // runs needed before a band means anything
  double k = 4.0;           // half-width in robust standard deviations (1.4826 × MAD)
  double floor_rel = 0.10;  // ... but never narrower than 10 % of the median
  double floor_abs = 1.0;   // ... nor than 1 (counts: one dying memcg more is noise)
};

// The noise band of a metric over the baseline.
struct NoiseBand {
  double median = 0;
  double mad = 0;         // median absolute deviation (unscaled)
  double half_width = 0;  // max(k·1.4826·MAD, floor_rel·|median|, floor_abs)
  int n = 0;              // baseline values
  double low() const { return median - half_width; }
  double high() const { return median + half_width; }
  bool contains(double v) const { return v >= low() && v <= high(); }
};

// nullopt when fewer than rule.min_baseline values.
std::optional<NoiseBand> noise_band(const std::vector<double>& values, const BandRule& rule);

struct Regression {
  enum class Kind { new_crash, assertion_failing, metric_out_of_band };
  Kind kind;
  std::string job, kernel, arch, workload;  // the series
  std::string started;                      // the newest run's
  std::string run_dir;                      // ... and where it is
  std::string subject;                      // the title, the expression, or the metric's name
  std::string detail;                       // one line for people
  double value = 0;                         // metric_out_of_band: the newest value
  NoiseBand band{};                         // metric_out_of_band: the baseline's band
};
std::string_view to_string(Regression::Kind k);

// Runs of one series, oldest first (as HistoryStore::runs returns them).
struct HistorySeries {
  std::string job;
  std::string kernel;  // the label, or (SeriesKey::identity) the kernel's identity
  std::string arch, workload;
  std::vector<const StoredRun*> runs;
};

// What makes runs one series beside job, arch and workload id.
enum class SeriesKey {
  label,     // the job's kernel label: a nightly's moving tree stays one series
  identity,  // what the kernel is (kernel_identity): the same build's noise only
};

// "<commit or source id>[+<series hash>][ cfg:<config hash>]" (hashes cut
// to 12), or "label:<name>" for a run that carries no identity.
std::string kernel_identity(const KernelIdentity& k);

// Groups runs (oldest first) into series, in the order each first appears.
std::vector<HistorySeries> group_series(const std::vector<StoredRun>& runs,
                                        SeriesKey key = SeriesKey::label);

// The metrics judged in a series: `asked` if not empty, else the newest
// run's key metric (none when it has none).
std::vector<std::string> judged_metrics(const HistorySeries& s,
                                        const std::vector<std::string>& asked);

// The baseline of the newest run: its predecessors that measured something,
// newest last, at most rule.last.
std::vector<const StoredRun*> baseline(const HistorySeries& s, const BandRule& rule);

// Every regression of the newest run of `s`.
std::vector<Regression> find_regressions(const HistorySeries& s,
                                         const std::vector<std::string>& metrics,
                                         const BandRule& rule);

// The same rules over the newest results folder's runs (a night's
// repeats): each run of it judged against the runs before that folder, so
// a splat in the first of three repeats is not lost behind a clean third.
// One Regression per kind and subject, from the first run that shows it.
std::vector<Regression> find_last_results_regressions(const HistorySeries& s,
                                                      const std::vector<std::string>& metrics,
                                                      const BandRule& rule);

}  // namespace kh
