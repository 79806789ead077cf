// The history seen at a glance: what changed first (the newest runs'
// regressions by the band rule, and the change points of the recent
// runs), then every series with its metrics over time. Built from
// StoredRuns by pure functions (build_dashboard), rendered as a static
// HTML page with inline SVG plots (dashboard_html: no server, no
// JavaScript library, opens from a folder) or as the few lines a nightly
// mail wants (dashboard_summary).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "history/changepoint.h"
#include "history/regression.h"
#include "history/store.h"

namespace kh {

struct DashboardOptions {
  BandRule band;
  ChangePointRule change;
  SeriesKey key = SeriesKey::label;
  // A change point is news while its new level began within the newest
  // `recent` measured runs of its series.
  std::size_t recent = 10;
  // Metrics judged and plotted first (--metric); empty: the key metric.
  std::vector<std::string> metrics;
  // The workload's other headline metrics (names without a dot, not a
  // parameter, that vary in the series) plotted beside, at most this many.
  std::size_t other_metrics = 6;
};

// A change point of one metric of a series.
struct SeriesChange {
  std::string metric;
  ChangePoint point;
  const StoredRun* first = nullptr;  // the first run of the new level
  bool recent = false;               // news (see DashboardOptions::recent)
};

struct DashboardSeries {
  HistorySeries series;
  std::string anchor;                // "s3": the section's id in the page
  std::vector<std::string> judged;   // the band rule's metrics
  std::vector<std::string> metrics;  // plotted: judged first, then the others
  // Of the newest results folder's runs (find_last_results_regressions).
  std::vector<Regression> regressions;
  std::vector<SeriesChange> changes;  // every change point of every plotted metric
};

// One line of what changed, for the top of the page and the summary.
struct DashboardNews {
  enum class Kind { new_crash, assertion_failing, metric_out_of_band, metric_changed };
  Kind kind;
  std::size_t series = 0;          // index into Dashboard::series
  const StoredRun* run = nullptr;  // the newest run, or the first of the new level
  std::string subject;             // title, expression or metric
  std::string detail;              // one line for people
};
std::string_view to_string(DashboardNews::Kind k);

struct Dashboard {
  std::vector<DashboardSeries> series;
  std::vector<DashboardNews> news;  // crashes, then assertions, then metrics
  std::size_t runs = 0;
  std::string newest;  // start time of the newest run
};

// `runs` oldest first (HistoryStore::runs); the Dashboard points into them.
Dashboard build_dashboard(const std::vector<StoredRun>& runs, const DashboardOptions& options);

// The page: written as DIR/index.html, links to run folders relative to DIR
// (so the page and the results can move together). `source` names the
// store in the header.
std::string dashboard_html(const Dashboard& d, const std::filesystem::path& page_dir,
                           const std::string& source);

// Builds the dashboard of `runs` and writes it as DIR/index.html (making
// DIR); returns it. What `history --html` does, for any caller that has the
// runs (a job that asks for its dashboard after recording its history).
Dashboard write_dashboard(const std::vector<StoredRun>& runs, const DashboardOptions& options,
                          const std::filesystem::path& dir, const std::string& source);

// Mail-sized: one line per news item with the run's folder, new crashes
// with their titles, nothing else; "no regression in N series" when there
// is no news.
std::string dashboard_summary(const Dashboard& d);

// Where a run's files are: results_dir/run_dir (empty when unknown).
std::filesystem::path run_folder(const StoredRun& r);

}  // namespace kh
