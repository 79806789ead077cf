// kharness compare from hand-made runs: grouping, the data and verdict
// rules, and the Markdown, JSON and HTML outputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "report/compare_html.h"
#include "report/compare_input.h"
#include "report/compare_model.h"
#include "report/compare_render.h"
#include "report/result_json.h"
#include "util/error.h"
#include "util/files.h"
#include "util/process.h"

namespace kh {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RunResult make_run(const std::string& kernel, int repeat, Outcome outcome, double dying,
                   double file_kb) {
  RunResult r;
  r.kernel.name = kernel;
  r.kernel.release = "6.1.192";
  r.arch = "x86_64";
  r.workload = "dying-cgroup";
  r.workload_name = "dying-cgroup";
  r.key_metric = "dying_after_loop";
  r.repeat = repeat;
  r.params = {{"iterations", "500"}, {"pin", "pagecache"}};
  r.outcome = outcome;
  if (outcome == Outcome::infra) {
    r.reason = "boot: no agent within 60 s";
    return r;  // an infra run has no metrics worth the name
  }
  r.metrics = {{"dying_after_loop", dying},
               {"parent_file_kb", file_kb},
               {"tainted", 0},
               {"iterations", 500},
               {"after.memstat.file", file_kb * 1024},
               {"dying_at.250", dying / 2},
               {"dying_at.500", dying}};
  return r;
}

AssertionResult judged(const std::string& expr, bool passed) {
  AssertionResult a;
  a.expression = expr;
  a.value = passed ? 1 : 0;
  a.passed = passed;
  return a;
}

// linux-6.1 leaks every memcg and keeps 2000 kB of page cache; the patched
// kernel leaves a few and drops the cache. One infra run each, with
// absurd numbers in them had they been used.
std::vector<RunResult> reclaim_runs() {
  std::vector<RunResult> runs;
  double base_file[] = {2000, 2000, 1996, 2000, 2000};
  for (int i = 0; i < 5; ++i) {
    RunResult r = make_run("linux-6.1", i, Outcome::pass, 500, base_file[i]);
    r.assertions = {judged("dying_after_loop >= 0.9 * iterations", true),
                    judged("tainted == 0", true)};
    runs.push_back(r);
  }
  double patched_dying[] = {0, 2, 1, 0, 3};
  double patched_file[] = {12, 20, 8, 16, 4};
  for (int i = 0; i < 5; ++i) {
    RunResult r =
        make_run("reclaim-on-offline", i, Outcome::pass, patched_dying[i], patched_file[i]);
    r.assertions = {judged("dying_after_loop <= 0.1 * iterations", true),
                    judged("tainted == 0", true)};
    if (i == 3) {
      r.outcome = Outcome::fail;
      r.reason = "WARNING in mem_cgroup_css_offline";
      r.console = {{"WARNING", "WARNING in mem_cgroup_css_offline", 120, false, false, ""}};
    }
    runs.push_back(r);
  }
  runs.push_back(make_run("linux-6.1", 5, Outcome::infra, 0, 0));
  runs.push_back(make_run("reclaim-on-offline", 5, Outcome::infra, 0, 0));
  runs.back().reason = "qemu: exited 1";
  return runs;
}

const MetricRow& metric(const CompareGroup& g, const std::string& name) {
  for (const auto& m : g.metrics)
    if (m.name == name) return m;
  throw std::runtime_error("no metric " + name);
}

TEST(CompareModelTest, InfraRunsAreCountedNeverData) {
  Comparison c = compare_runs(reclaim_runs());
  ASSERT_EQ(c.kernels, (std::vector<std::string>{"linux-6.1", "reclaim-on-offline"}));
  ASSERT_EQ(c.groups.size(), 1u);
  const CompareGroup& g = c.groups[0];
  EXPECT_EQ(g.workload, "dying-cgroup");
  EXPECT_EQ(g.key_metric, "dying_after_loop");
  EXPECT_EQ(g.runs[0].pass, 5);
  EXPECT_EQ(g.runs[0].infra, 1);
  EXPECT_EQ(g.runs[1].pass, 4);
  EXPECT_EQ(g.runs[1].fail, 1);  // a splat: still the kernel's data
  EXPECT_EQ(g.runs[1].infra, 1);
  EXPECT_EQ(g.runs[1].infra_reasons, (std::vector<std::string>{"qemu: exited 1"}));
  const MetricRow& dying = metric(g, "dying_after_loop");
  EXPECT_EQ(g.metrics[0].name, "dying_after_loop");  // the key metric leads
  EXPECT_EQ(dying.cells[0].values.size(), 5u);
  EXPECT_EQ(dying.cells[1].values.size(), 5u);
  EXPECT_EQ(dying.cells[1].summary.median, 1);
  EXPECT_EQ(dying.cells[1].summary.max, 3);
  EXPECT_EQ(dying.cells[1].repeats, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(CompareModelTest, AClearDropIsSignificantByBothTests) {
  Comparison c = compare_runs(reclaim_runs());
  const CompareGroup& g = c.groups[0];
  const MetricRow& dying = metric(g, "dying_after_loop");
  const MetricCell& cell = dying.cells[1];
  EXPECT_DOUBLE_EQ(cell.change, (1.0 - 500) / 500);
  // Exact Mann–Whitney with complete separation, 5 + 5: 2/252.
  EXPECT_TRUE(cell.mann_whitney.exact);
  EXPECT_NEAR(cell.mann_whitney.p_value, 2.0 / 252, 1e-12);
  EXPECT_LT(cell.welch.p_value, 1e-6);
  EXPECT_TRUE(cell.significant);
  EXPECT_TRUE(dying.differs);
  EXPECT_TRUE(metric(g, "parent_file_kb").cells[1].significant);  // the cost
  // Nothing changes in tainted: both tests say p = 1.
  const MetricRow& tainted = metric(g, "tainted");
  EXPECT_FALSE(tainted.differs);
  EXPECT_EQ(tainted.cells[1].welch.p_value, 1);
  EXPECT_EQ(tainted.cells[1].mann_whitney.p_value, 1);
}

TEST(CompareModelTest, ThreeRunsAKernelCannotBeSignificant) {
  std::vector<RunResult> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(make_run("a", i, Outcome::pass, 500, 2000));
  for (int i = 0; i < 3; ++i) runs.push_back(make_run("b", i, Outcome::pass, i, 10));
  Comparison c = compare_runs(runs);
  const MetricRow& dying = metric(c.groups[0], "dying_after_loop");
  EXPECT_LT(dying.cells[1].welch.p_value, 0.05);
  EXPECT_NEAR(dying.cells[1].mann_whitney.p_value, 0.1, 1e-12);
  EXPECT_FALSE(dying.cells[1].significant);
  EXPECT_THAT(dying.note, HasSubstr("cannot reach"));
  // Not significant, but not "no change" either: too few runs to call.
  EXPECT_EQ(dying.cells[1].call, CompareCall::too_few_runs);
  EXPECT_EQ(dying.cells[1].repeats_needed, 4);
}

TEST(CompareModelTest, OverlappingNoiseIsNotSignificant) {
  std::vector<RunResult> runs;
  double a[] = {1.1, 1.3, 0.9, 1.2, 1.0}, b[] = {1.2, 0.95, 1.25, 1.05, 1.15};
  for (int i = 0; i < 5; ++i) {
    runs.push_back(make_run("a", i, Outcome::pass, 0, 0));
    runs.back().metrics["loop_seconds"] = a[i];
    runs.push_back(make_run("b", i, Outcome::pass, 0, 0));
    runs.back().metrics["loop_seconds"] = b[i];
  }
  Comparison c = compare_runs(runs);
  const MetricRow& loop = metric(c.groups[0], "loop_seconds");
  EXPECT_GT(loop.cells[1].welch.p_value, 0.5);
  EXPECT_FALSE(loop.cells[1].significant);
  EXPECT_TRUE(loop.note.empty());
}

TEST(CompareModelTest, AssertionsAreJudgedOnEveryKernelAndFlipsFound) {
  Comparison c = compare_runs(reclaim_runs());
  const auto& asserts = c.groups[0].assertions;
  ASSERT_EQ(asserts.size(), 3u);
  // The base's own expectation, evaluated on the patched kernel's metrics
  // (and iterations from its params): it held on 6.1, fails on the patch.
  EXPECT_EQ(asserts[0].expression, "dying_after_loop >= 0.9 * iterations");
  EXPECT_TRUE(asserts[0].flips);
  EXPECT_EQ(asserts[0].per_kernel[0].verdict(), "pass");
  EXPECT_TRUE(asserts[0].per_kernel[0].own);
  EXPECT_EQ(asserts[0].per_kernel[1].verdict(), "fail");
  EXPECT_FALSE(asserts[0].per_kernel[1].own);
  EXPECT_EQ(asserts[0].per_kernel[1].runs, 5);
  EXPECT_EQ(asserts[1].expression, "tainted == 0");
  EXPECT_FALSE(asserts[1].flips);
  EXPECT_EQ(asserts[2].expression, "dying_after_loop <= 0.1 * iterations");
  EXPECT_TRUE(asserts[2].flips);
  EXPECT_EQ(asserts[2].per_kernel[0].verdict(), "fail");
  EXPECT_EQ(asserts[2].per_kernel[1].held, 5);
}

TEST(CompareModelTest, MixedVerdictIsAFlipToo) {
  std::vector<RunResult> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(make_run("a", i, Outcome::pass, 0, 0));
    runs.back().assertions = {judged("tainted == 0", true)};
    runs.push_back(make_run("b", i, i == 2 ? Outcome::fail : Outcome::pass, 0, 0));
    runs.back().assertions = {judged("tainted == 0", i != 2)};
  }
  Comparison c = compare_runs(runs);
  ASSERT_EQ(c.groups[0].assertions.size(), 1u);
  EXPECT_TRUE(c.groups[0].assertions[0].flips);
  EXPECT_EQ(c.groups[0].assertions[0].per_kernel[1].verdict(), "mixed");
}

TEST(CompareModelTest, DifferentParametersAreFlagged) {
  EXPECT_TRUE(compare_runs(reclaim_runs()).groups[0].param_differences.empty());
  std::vector<RunResult> runs = reclaim_runs();
  for (auto& r : runs)
    if (r.kernel.name == "reclaim-on-offline") r.params["iterations"] = "1000";
  Comparison c = compare_runs(runs);
  EXPECT_EQ(c.groups[0].param_differences,
            (std::vector<std::string>{"iterations: 1000 on reclaim-on-offline; 500 on linux-6.1"}));
  EXPECT_THAT(compare_markdown(c), HasSubstr("Warning: the kernels ran with different parameters: "
                                             "iterations: 1000 on reclaim-on-offline"));
}

TEST(CompareModelTest, ConsoleTitlesPerKernel) {
  Comparison c = compare_runs(reclaim_runs());
  EXPECT_TRUE(c.groups[0].runs[0].titles.empty());
  EXPECT_EQ(c.groups[0].runs[1].titles.at("WARNING in mem_cgroup_css_offline"), 1);
}

TEST(CompareModelTest, SeriesAndShownMetrics) {
  Comparison c = compare_runs(reclaim_runs());
  const CompareGroup& g = c.groups[0];
  ASSERT_TRUE(g.series.count("dying_at"));
  EXPECT_EQ(g.series.at("dying_at"), (std::vector<long>{250, 500}));
  EXPECT_FALSE(metric(g, "dying_at.500").shown);
  EXPECT_FALSE(metric(g, "after.memstat.file").shown);
  EXPECT_TRUE(metric(g, "parent_file_kb").shown);
  for (const auto& m : g.metrics) EXPECT_NE(m.name, "iterations") << "a parameter is no metric";
  CompareOptions extra;
  extra.extra_metrics = {"after.memstat.file"};
  EXPECT_TRUE(metric(compare_runs(reclaim_runs(), extra).groups[0], "after.memstat.file").shown);
}

TEST(CompareModelTest, KernelOrderAndErrors) {
  CompareOptions o;
  o.kernels = {"reclaim-on-offline", "linux-6.1"};
  Comparison c = compare_runs(reclaim_runs(), o);
  EXPECT_EQ(c.kernels[0], "reclaim-on-offline");
  EXPECT_TRUE(std::isinf(metric(c.groups[0], "dying_after_loop").cells[1].change) ||
              metric(c.groups[0], "dying_after_loop").cells[1].change > 100);
  o.kernels = {"linux-6.1", "nope"};
  EXPECT_THROW(compare_runs(reclaim_runs(), o), InputError);
  std::vector<RunResult> one = {make_run("a", 0, Outcome::pass, 1, 1)};
  try {
    compare_runs(one);
    FAIL() << "one kernel compared";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("at least two kernels"));
  }
}

TEST(CompareInputTest, FoldersAndLabels) {
  ScopedTempDir tmp("kharness-compare");
  auto before = tmp.path() / "before", after = tmp.path() / "after";
  // "before" holds both kernels; "after" only linux-6.1, again.
  for (const auto& r : reclaim_runs()) {
    auto dir = before / r.kernel.name / r.arch / r.workload / ("r" + std::to_string(r.repeat));
    ensure_dir(dir);
    write_result_json(dir / "result.json", r);
  }
  RunResult again = make_run("linux-6.1", 0, Outcome::pass, 499, 1996);
  ensure_dir(after / "x");
  write_result_json(after / "x" / "result.json", again);
  write_file(after / "summary.json", "{}");  // not a result: passed over

  auto one = read_result_folders({before});
  EXPECT_EQ(one.size(), 12u);
  EXPECT_EQ(compare_runs(one).kernels,
            (std::vector<std::string>{"linux-6.1", "reclaim-on-offline"}));

  auto both = read_result_folders({before, after / ""});
  ASSERT_EQ(both.size(), 13u);
  std::set<std::string> labels;
  for (const auto& r : both) labels.insert(r.kernel.name);
  EXPECT_EQ(labels,
            (std::set<std::string>{"before/linux-6.1", "reclaim-on-offline", "after/linux-6.1"}));
  EXPECT_EQ(both.back().metrics.at("dying_after_loop"), 499);

  EXPECT_THROW(read_result_folders({tmp.path() / "nothing"}), InputError);
  ensure_dir(tmp.path() / "empty");
  EXPECT_THROW(read_result_folders({tmp.path() / "empty"}), InputError);
}

TEST(CompareFormatTest, Numbers) {
  EXPECT_EQ(format_p(2.0 / 252), "0.0079");
  EXPECT_EQ(format_p(1e-9), "<1e-6");
  EXPECT_EQ(format_p(std::nan("")), "-");
  EXPECT_EQ(format_change(-0.998), "-99.8%");
  EXPECT_EQ(format_change(-1), "-100%");
  EXPECT_EQ(format_change(INFINITY), "+inf");
  EXPECT_EQ(format_value(500), "500");
  EXPECT_EQ(format_value(1.23456), "1.23");
}

TEST(CompareRenderTest, Markdown) {
  Comparison c = compare_runs(reclaim_runs());
  std::string md = compare_markdown(c);
  EXPECT_THAT(md, HasSubstr("Base: **linux-6.1**; compared: reclaim-on-offline."));
  EXPECT_THAT(md, HasSubstr("## dying-cgroup on x86_64"));
  EXPECT_THAT(md, HasSubstr("| linux-6.1 | 6.1.192 | 5 | 0 | 1 | 0 |"));
  EXPECT_THAT(md,
              HasSubstr("reclaim-on-offline: 1 infra run(s), not used as data: qemu: exited 1"));
  // The headline: the key metric falls, the page cache with it.
  // With each change's 95 % bootstrap interval; the patched kernel's median
  // resamples to 0..3 of 500.
  EXPECT_THAT(md, HasSubstr("Significant changes against linux-6.1: dying_after_loop (key) -99.8% "
                            "(500 → 1; 95 % CI -100% to -99.4%); parent_file_kb -99.4% (2000 → 12; "
                            "95 % CI -99.8% to -99.0%)."));
  EXPECT_THAT(md,
              HasSubstr("| dying_after_loop (key) | 500 (n=5) | 1 (0–3, n=5) | -99.8% (-100% to "
                        "-99.4%) | <1e-6 / 0.0079 | **yes** |"));
  EXPECT_THAT(md, HasSubstr("| tainted | 0 (n=5) | 0 (n=5) | 0% | 1.0000 / 1.0000 | no |"));
  EXPECT_THAT(md, Not(HasSubstr("dying_at.500")));
  EXPECT_THAT(md, Not(HasSubstr("| iterations")));
  EXPECT_THAT(md, HasSubstr("| WARNING in mem_cgroup_css_offline | 0/6 runs | 1/6 runs |"));
  EXPECT_THAT(md, HasSubstr("| `dying_after_loop <= 0.1 * iterations` | fail (0/5 held, not its "
                            "own) | pass (5/5 held) |"));
  EXPECT_THAT(md, Not(HasSubstr("`tainted == 0`")));
}

TEST(CompareRenderTest, Json) {
  Comparison c = compare_runs(reclaim_runs());
  nlohmann::json j = compare_json(c);
  EXPECT_EQ(j["base"], "linux-6.1");
  EXPECT_EQ(j["groups"][0]["runs"][1]["infra"], 1);
  const auto& m = j["groups"][0]["metrics"][0];
  EXPECT_EQ(m["name"], "dying_after_loop");
  EXPECT_EQ(m["kernels"][1]["values"], (nlohmann::json{0, 2, 1, 0, 3}));
  EXPECT_EQ(m["kernels"][1]["significant"], true);
  EXPECT_NEAR(m["kernels"][1]["mann_whitney"]["p"].get<double>(), 2.0 / 252, 1e-12);
  EXPECT_FALSE(m["kernels"][0].contains("significant"));
  EXPECT_EQ(j["groups"][0]["series"]["dying_at"], (nlohmann::json{250, 500}));
  // A change from zero has no finite ratio: null, with the text beside it.
  CompareOptions o;
  o.kernels = {"reclaim-on-offline", "linux-6.1"};
  std::vector<RunResult> runs = reclaim_runs();
  for (auto& r : runs)
    if (r.kernel.name == "reclaim-on-offline") r.metrics["dying_after_loop"] = 0;
  nlohmann::json inf = compare_json(compare_runs(runs, o));
  EXPECT_TRUE(inf["groups"][0]["metrics"][0]["kernels"][1]["change"].is_null());
  EXPECT_EQ(inf["groups"][0]["metrics"][0]["kernels"][1]["change_text"], "+inf");
}

TEST(CompareHtmlTest, PlotsAndPage) {
  Comparison c = compare_runs(reclaim_runs());
  auto plots = compare_plots(c);
  std::vector<std::string> titles;
  for (const auto& p : plots) titles.push_back(p.title);
  // The series, then each shown metric that varies; tainted (0 everywhere)
  // has nothing to show.
  EXPECT_THAT(titles, ::testing::ElementsAre("dying_at against iterations", "dying_after_loop",
                                             "parent_file_kb"));
  EXPECT_EQ(plots[0].section, "Dying memory cgroups");
  EXPECT_EQ(plots[2].section, "Other metrics");
  EXPECT_THAT(plots[0].script, HasSubstr("title \"one per iteration\""));
  // The series' data: per kernel, x median min max.
  EXPECT_THAT(plots[0].data[0].second, HasSubstr("250 250 250 250\n500 500 500 500\n\n\n"));
  EXPECT_THAT(plots[0].data[0].second, HasSubstr("500 1 0 3\n"));
  std::string gp = gnuplot_script(plots);
  EXPECT_THAT(gp, HasSubstr("set terminal svg"));
  std::string html = compare_html(c, plots);
  for (const auto& p : plots) EXPECT_THAT(html, HasSubstr("<img src=\"" + p.file + "\""));
  EXPECT_THAT(html, HasSubstr("<h3>Dying memory cgroups</h3>"));
  EXPECT_THAT(html, HasSubstr("<code>dying_after_loop &lt;= 0.1 * iterations</code>"));
  EXPECT_THAT(html, HasSubstr("<tr class=sig><td>dying_after_loop (key)</td>"));
}

TEST(CompareHtmlTest, ProbeLatencyAndThpSplitsGetTheirSections) {
  std::vector<RunResult> runs;
  for (int i = 0; i < 4; ++i)
    for (const char* k : {"a", "b"}) {
      RunResult r = make_run(k, i, Outcome::pass, 0, 0);
      r.workload = "jbd2";
      r.key_metric = "probe_p99_ms";
      r.metrics = {{"probe_p99_ms", 100.0 * (i + 1) + (k[0] == 'b' ? 50 : 0)},
                   {"probe_p50_ms", 10.0 + i},
                   {"b_thp_split", k[0] == 'b' ? 32.0 : 0.0 + i},
                   {"writer_rounds", 7}};
      runs.push_back(r);
    }
  auto plots = compare_plots(compare_runs(runs));
  std::map<std::string, std::string> section;
  for (const auto& p : plots) section[p.title] = p.section;
  EXPECT_EQ(section["probe_p99_ms"], "Probe latency");
  EXPECT_EQ(section["probe_p50_ms"], "Probe latency");
  EXPECT_EQ(section["b_thp_split"], "THP splits");
  EXPECT_FALSE(section.count("writer_rounds")) << "7 everywhere: nothing to plot";
}

TEST(CompareHtmlTest, GnuplotDrawsEveryPlot) {
  if (find_program("gnuplot").empty()) GTEST_SKIP() << "gnuplot is not installed";
  ScopedTempDir dir("kharness-compare");
  Comparison c = compare_runs(reclaim_runs());
  RealProcessRunner runner;
  write_compare_html(c, dir.path(), runner);
  for (const auto& p : compare_plots(c)) {
    std::string svg;
    ASSERT_TRUE(read_file_if_exists(dir.path() / p.file, svg)) << p.file;
    EXPECT_THAT(svg, HasSubstr("<svg"));
    EXPECT_GT(svg.size(), 2000u) << p.file;
  }
  EXPECT_THAT(read_file(dir.path() / "compare.html"), HasSubstr("plots/g0-s0.svg"));
}

}  // namespace
}  // namespace kh
