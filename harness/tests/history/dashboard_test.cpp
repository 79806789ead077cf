#include "history/dashboard.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kh {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string commit(int day) {
  return fmt::format("{:06x}{:034d}", 0xabc000 + day, 0);
}

StoredRun night(const std::string& workload, const std::string& arch, int day, Outcome outcome,
                double value) {
  StoredRun r;
  r.job = "nightly";
  r.results_dir = fmt::format("/srv/nightly/2026-11-{:02d}", day);
  r.started = fmt::format("2026-11-{:02d}T01:00:00Z", day);
  r.kernel.name = "linux";
  r.kernel.release = "6.12.0";
  r.kernel.commit = commit(day);
  r.kernel.config_hash = "5e6f7a8b9c0d";
  r.arch = arch;
  r.workload = workload;
  r.workload_name = workload;
  r.key_metric = workload == "dying-cgroup" ? "dying_after_loop" : "split_deferred";
  r.params = {{"iterations", "100"}};
  r.outcome = outcome;
  r.run_dir = fmt::format("linux/{}/{}", arch, workload);
  if (outcome == Outcome::infra) {
    r.reason = "boot: no agent within 60 s";
    return r;
  }
  r.metrics = {{r.key_metric, value},
               {"loop_seconds", 2.0 + 0.01 * day},
               {"iterations", 100},
               {"after.memstat.file", 4096}};
  return r;
}

// dying-cgroup on x86_64: 100 a night, then 130 from the 9th on (four
// nights at the new level), and an infra night on the 5th. thp-shrinker on
// arm64: steady, but its newest night splats.
std::vector<StoredRun> history() {
  std::vector<StoredRun> runs;
  const double noise[] = {0, 1, -1, 2, 0, -2, 1, 0, 1, -1, 0, 2, -1};
  for (int day = 1; day <= 12; ++day) {
    double v = (day >= 9 ? 130 : 100) + noise[day];
    runs.push_back(
        night("dying-cgroup", "x86_64", day, day == 5 ? Outcome::infra : Outcome::pass, v));
    StoredRun thp = night("thp-shrinker", "arm64", day, Outcome::pass, 40 + noise[day]);
    if (day == 12) {
      thp.outcome = Outcome::fail;
      thp.reason = "BUG: Bad page state in free_pages";
      thp.reports = {{"BUG", "BUG: Bad page state in free_pages", 0, false, false, ""}};
    }
    runs.push_back(thp);
  }
  return runs;
}

TEST(Dashboard, CrashesFirstThenTheStepWithTheRunThatBroughtIt) {
  auto runs = history();
  Dashboard d = build_dashboard(runs, {});
  ASSERT_EQ(d.series.size(), 2u);
  EXPECT_EQ(d.runs, 24u);
  EXPECT_EQ(d.newest, "2026-11-12T01:00:00Z");
  ASSERT_GE(d.news.size(), 2u);
  EXPECT_EQ(d.news[0].kind, DashboardNews::Kind::new_crash);
  EXPECT_EQ(d.news[0].subject, "BUG: Bad page state in free_pages");
  EXPECT_EQ(d.series[d.news[0].series].series.workload, "thp-shrinker");
  const DashboardNews* step = nullptr;
  for (const auto& n : d.news)
    if (n.kind == DashboardNews::Kind::metric_changed && n.subject == "dying_after_loop") step = &n;
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->run->started, "2026-11-09T01:00:00Z");  // the first night of the new level
  EXPECT_THAT(
      step->detail,
      HasSubstr("dying_after_loop moved +28.2% (101 → 129.5, medians of 7 and 4 runs), p "));
  // The band rule sees only that the newest night is high, not since when.
  const DashboardSeries& dying = d.series[step->series];
  ASSERT_EQ(dying.regressions.size(), 1u);
  EXPECT_EQ(dying.regressions[0].kind, Regression::Kind::metric_out_of_band);
  EXPECT_EQ(dying.metrics.front(), "dying_after_loop");
  EXPECT_THAT(dying.metrics, ::testing::Contains("loop_seconds"));
  EXPECT_THAT(dying.metrics, Not(::testing::Contains("iterations")));  // a parameter
  EXPECT_THAT(dying.metrics, Not(::testing::Contains("after.memstat.file")));
}

TEST(Dashboard, AnOldStepIsNoLongerNews) {
  auto runs = history();
  DashboardOptions o;
  o.recent = 3;  // the step is four runs old
  Dashboard d = build_dashboard(runs, o);
  for (const auto& n : d.news) EXPECT_NE(n.kind, DashboardNews::Kind::metric_changed);
  // It is still on the series' own section.
  bool listed = false;
  for (const auto& s : d.series)
    for (const auto& c : s.changes) listed = listed || c.metric == "dying_after_loop";
  EXPECT_TRUE(listed);
}

TEST(Dashboard, SummaryHasTheNewsAndTheirRunsOnly) {
  auto runs = history();
  std::string text = dashboard_summary(build_dashboard(runs, {}));
  EXPECT_THAT(text, HasSubstr("3 regression(s) in 2 series (newest run 2026-11-12T01:00:00Z)\n"));
  EXPECT_THAT(text, HasSubstr("- new crash: nightly linux/arm64/thp-shrinker: BUG: Bad page state "
                              "in free_pages\n  /srv/nightly/2026-11-12/linux/arm64/thp-shrinker"));
  EXPECT_THAT(text, HasSubstr("- metric changed: nightly linux/x86_64/dying-cgroup: "
                              "dying_after_loop moved +28.2%"));
  EXPECT_THAT(text, HasSubstr(", since 2026-11-09T01:00:00Z (6.12.0 " + commit(9).substr(0, 12) +
                              " cfg:5e6f7a8b)\n"));
  EXPECT_THAT(text, HasSubstr("\n  /srv/nightly/2026-11-09/linux/x86_64/dying-cgroup\n"));
  EXPECT_THAT(text, Not(HasSubstr("loop_seconds")));  // steady: not news
}

TEST(Dashboard, SummaryOfAQuietNightIsOneLine) {
  std::vector<StoredRun> runs;
  for (int day = 1; day <= 6; ++day)
    runs.push_back(night("dying-cgroup", "x86_64", day, Outcome::pass, 100));
  EXPECT_EQ(dashboard_summary(build_dashboard(runs, {})),
            "no regression in 1 series (6 runs, newest 2026-11-06T01:00:00Z)\n");
}

TEST(Dashboard, PageOpensOnTheNewsWithPlotsFiltersAndLinks) {
  auto runs = history();
  std::string h = dashboard_html(build_dashboard(runs, {}), "/srv/nightly/dashboard",
                                 "/srv/nightly/history.sqlite");
  auto news = h.find("Regressions and changes");
  auto first_plot = h.find("<svg");
  ASSERT_NE(news, std::string::npos);
  ASSERT_NE(first_plot, std::string::npos);
  EXPECT_LT(news, first_plot);
  EXPECT_THAT(h, HasSubstr("<select name=\"arch\" onchange=\"khFilter()\"><option value=\"\">all"
                           "</option><option>arm64</option><option>x86_64</option>"));
  EXPECT_THAT(
      h, HasSubstr("data-kernel=\"linux\" data-arch=\"arm64\" data-workload=\"thp-shrinker\""));
  // Links relative to the page: the page and the nights move together.
  EXPECT_THAT(h, HasSubstr("<a href=\"../2026-11-12/linux/arm64/thp-shrinker/console.log\">"));
  EXPECT_THAT(h, HasSubstr("<a href=\"../2026-11-12/linux/arm64/thp-shrinker/result.json\">"));
  // The infra night is a cross on the axis; the change point a dashed line.
  EXPECT_THAT(h, HasSubstr("class=\"pt infra\"><title>2026-11-05T01:00:00Z"));
  EXPECT_THAT(h, HasSubstr("class=\"cp\"><title>change point: +28.2% from 2026-11-09T01:00:00Z"));
  // Each run's kernel identity in its series' table.
  EXPECT_THAT(h, HasSubstr("6.12.0 " + commit(12).substr(0, 12) + " cfg:5e6f7a8b"));
  EXPECT_THAT(h, HasSubstr("2 older runs"));
}

TEST(Dashboard, RunFolderJoinsTheResultsFolder) {
  StoredRun r;
  r.results_dir = "/srv/nightly/a";
  r.run_dir = "linux/x86_64/w/r2";
  EXPECT_EQ(run_folder(r), "/srv/nightly/a/linux/x86_64/w/r2");
  r.run_dir = "";
  EXPECT_TRUE(run_folder(r).empty());
}

}  // namespace
}  // namespace kh
