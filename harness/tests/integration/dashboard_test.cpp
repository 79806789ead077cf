// The history dashboard as a person sees it: five nights of a nightly
// matrix (2 arches x 4 workloads x 3 repeats), written as kharness writes
// its result folders and imported with `kharness history import`; the
// fifth night brings a splat, an assertion that starts failing and a step in
// a latency. `kharness history --html` draws the page, headless Chromium
// renders it (a screenshot, the page's own text, the place of the news on
// the first screen, the filters), and `--summary` prints the mail.
// No kernel boots here: the import path is the real one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "kharness_cli.h"
#include "report/result_json.h"
#include "util/files.h"
#include "util/process.h"

namespace kh::it {
namespace {

namespace fs = std::filesystem;

const char* const kArches[] = {"x86_64", "arm64"};
const char* const kWorkloads[] = {"dying-cgroup", "thp-shrinker", "jbd2", "kselftest-cgroup"};

RunResult nightly_run(int night, const std::string& arch, const std::string& workload, int r) {
  RunResult run;
  run.kernel.name = "linux";
  run.kernel.release = fmt::format("6.12.0-rc{}", night);
  run.kernel.source = "/srv/linux@master";
  run.kernel.source_id = "git:0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4";
  run.kernel.commit = fmt::format("{}{:02d}e0c1ab5d2f9e8d7c6b5a4f3e2d1c0b9a8f7e6", night, night);
  run.kernel.config_hash = "9d8c7b6a5f4e3d2c1b0a99887766554433221100aabbccddeeff001122334455";
  run.arch = arch;
  run.workload = workload;
  run.workload_name = workload;
  run.repeat = r;
  run.started = fmt::format("2026-12-{:02d}T01:{:02d}:{:02d}Z", night + 3,
                            (arch == "arm64" ? 30 : 0) + r * 3 + (workload.size() % 3), r * 7);
  run.run_dir = fmt::format("linux/{}/{}/r{}", arch, workload, r + 1);
  run.outcome = Outcome::pass;
  double wobble = (r - 1) * 0.02 + (night % 3 - 1) * 0.01;  // a little noise
  if (workload == "dying-cgroup") {
    run.key_metric = "dying_after_loop";
    run.params = {{"iterations", "200"}};
    run.metrics = {{"dying_after_loop", 200},
                   {"loop_seconds", 2.3 * (1 + wobble)},
                   {"iterations", 200},
                   {"percpu_kb_growth", 690 * (1 + wobble)},
                   {"after.memstat.file", 819200}};
    run.assertions = {{"dying_after_loop >= 0.9 * iterations", 1, true, "", "", 0}};
  } else if (workload == "thp-shrinker") {
    run.key_metric = "b_thp_split";
    run.metrics = {{"b_thp_split", 64}, {"a_thp_split", 0}, {"run_seconds", 3.1 * (1 + wobble)}};
  } else if (workload == "jbd2") {
    run.key_metric = "probe_p99_ms";
    double p99 = 41 * (1 + wobble);
    if (night == 5 && arch == "x86_64") p99 *= 1.6;  // the step
    run.metrics = {{"probe_p99_ms", p99}, {"probe_max_ms", p99 * 1.8}, {"hung_tasks", 0}};
  } else {
    run.key_metric = "failed";
    run.metrics = {{"failed", 0}, {"passed", 12}};
    run.assertions = {{"failed == 0", 1, true, "", "", 0}};
    if (night == 5 && arch == "arm64" && r == 1) {
      run.outcome = Outcome::fail;
      run.metrics["failed"] = 1;
      run.metrics["passed"] = 11;
      run.assertions = {{"failed == 0", 0, false, "", "failed", 1}};
      run.reason = "failed == 0: failed = 1";
    }
  }
  if (night == 2 && arch == "arm64" && workload == "dying-cgroup" && r == 2) {
    run.outcome = Outcome::infra;
    run.reason = "boot: no agent within 60 s";
    run.metrics.clear();
    run.assertions.clear();
  }
  if (night == 5 && arch == "arm64" && workload == "thp-shrinker" && r == 0) {
    run.outcome = Outcome::fail;
    run.reason = "BUG: Bad page state in process khugepaged";
    run.console = {{"BUG", "BUG: Bad page state in process khugepaged", 812, false, false,
                    "BUG: Bad page state in process khugepaged  pfn:1a2b3"}};
  }
  return run;
}

class DashboardFromImportedNights : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<ScopedTempDir>("kharness-it-dashboard");
    for (int night = 1; night <= 5; ++night) {
      fs::path dir = results() / fmt::format("nightly-2026-12-{:02d}", night + 3);
      write_file(dir / "job.yaml", "name: nightly\n");
      for (const char* arch : kArches)
        for (const char* w : kWorkloads)
          for (int r = 0; r < 3; ++r) {
            RunResult run = nightly_run(night, arch, w, r);
            write_result_json(dir / run.run_dir / "result.json", run);
            write_file(dir / run.run_dir / "console.log",
                       fmt::format("[    0.000000] Linux version {}\n", run.kernel.release));
          }
    }
    import_ = run_kharness({"history", "import", results().string(), "--history", db().string()});
    html_ = run_kharness(
        {"history", "--history", db().string(), "--html", (results() / "dashboard").string()});
    summary_ = run_kharness({"history", "--history", db().string(), "--summary"});
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static fs::path results() { return tmp_->path() / "results"; }
  static fs::path db() { return results() / "history.sqlite"; }
  static fs::path page() { return results() / "dashboard" / "index.html"; }

  // Headless Chromium on `page` at 1280 x 900: the PNG, or with `dump` the
  // DOM after its scripts ran.
  static std::string chromium(const fs::path& html, const fs::path& png, const char* mode) {
    auto exe = find_program("chromium");
    if (exe.empty()) return "";
    Command c;
    c.argv = {exe.string(),
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--hide-scrollbars",
              "--window-size=1280,900",
              "--virtual-time-budget=2000",
              "--user-data-dir=" + (tmp_->path() / "profile").string(),
              std::string(mode) == "dump" ? "--dump-dom" : "--screenshot=" + png.string(),
              "file://" + html.string()};
    c.timeout = std::chrono::seconds(180);
    ProcessResult r = RealProcessRunner().run(c);
    if (std::string(mode) == "dump") return r.output;
    std::string data;
    read_file_if_exists(png, data);
    return data;
  }

  // The page with `script` run after it loaded, its DOM dumped.
  static std::string dom_after(const std::string& name, const std::string& script) {
    std::string text;
    EXPECT_TRUE(read_file_if_exists(page(), text));
    auto at = text.rfind("</body>");
    text.insert(at, "<script>" + script + "</script>\n");
    fs::path copy = page().parent_path() / (name + ".html");
    write_file(copy, text);
    return chromium(copy, {}, "dump");
  }

  static inline std::unique_ptr<ScopedTempDir> tmp_;
  static inline CliResult import_, html_, summary_;
};

TEST_F(DashboardFromImportedNights, ImportsEveryNightAndWritesThePage) {
  ASSERT_EQ(import_.exit_code, 0) << import_.output;
  EXPECT_NE(import_.output.find("120 new run(s) of 120 read from 5 results folder(s)"),
            std::string::npos)
      << import_.output;
  EXPECT_EQ(html_.exit_code, 1) << html_.output;  // there is news
  EXPECT_NE(html_.output.find("dashboard: " + page().string() + " (8 series"), std::string::npos)
      << html_.output;
  EXPECT_TRUE(fs::is_regular_file(page()));
}

TEST_F(DashboardFromImportedNights, SummaryIsTheNewsWithTheirRuns) {
  EXPECT_EQ(summary_.exit_code, 1) << summary_.output;
  const std::string& s = summary_.output;
  fs::path night3 = results() / "nightly-2026-12-08";
  EXPECT_NE(s.find("- new crash: nightly linux/arm64/thp-shrinker: BUG: Bad page state in process "
                   "khugepaged\n  " +
                   (night3 / "linux/arm64/thp-shrinker/r1").string()),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("- assertion failing: nightly linux/arm64/kselftest-cgroup: assertion started "
                   "failing: failed == 0"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("- metric changed: nightly linux/x86_64/jbd2: probe_p99_ms moved +"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(", since 2026-12-08T01:"), std::string::npos) << s;
  // Nothing about the quiet series.
  EXPECT_EQ(s.find("dying-cgroup"), std::string::npos) << s;
  EXPECT_EQ(s.find("linux/arm64/jbd2"), std::string::npos) << s;
  // Mail-sized.
  EXPECT_LT(std::count(s.begin(), s.end(), '\n'), 15) << s;
}

TEST_F(DashboardFromImportedNights, ChromiumShowsYesterdaysRegressionOnTheFirstScreen) {
  auto exe = find_program("chromium");
  ASSERT_FALSE(exe.empty()) << "chromium is not installed (harness/setup.sh)";
  // The page's own text, after its scripts: the news, in order.
  std::string dom = chromium(page(), {}, "dump");
  auto news = dom.find("Regressions and changes");
  auto crash = dom.find("BUG: Bad page state in process khugepaged");
  auto step = dom.find("probe_p99_ms moved +");
  auto first_series = dom.find("<section");
  ASSERT_NE(news, std::string::npos) << dom.substr(0, 2000);
  ASSERT_NE(crash, std::string::npos);
  ASSERT_NE(step, std::string::npos);
  EXPECT_LT(news, crash);
  EXPECT_LT(crash, step);
  EXPECT_LT(step, first_series);
  EXPECT_NE(dom.find("nightly-2026-12-08/linux/arm64/thp-shrinker/r1/console.log"),
            std::string::npos);

  // Where the browser lays it out: the whole news table within the first
  // 900 pixels.
  std::string laid_out =
      dom_after("layout",
                "document.title='news-bottom='+Math.round(document.querySelector('table.news')."
                "getBoundingClientRect().bottom);");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(laid_out, m, std::regex("news-bottom=([0-9]+)")))
      << laid_out.substr(0, 500);
  EXPECT_LT(std::stoi(m[1]), 900) << "the news does not fit on the first screen";

  // Every run of the stepped series is drawn (a malformed element before
  // them would leave them in the DOM but not on the screen): 15 points of
  // probe_p99_ms with a size, and the change point's line.
  std::string drawn = dom_after(
      "drawn",
      "var s=Array.from(document.querySelectorAll('section.series')).filter(function(e){return "
      "e.getAttribute('data-workload')==='jbd2'&&e.getAttribute('data-arch')==='x86_64';})[0];"
      "var svg=s.querySelector('svg');var n=0;svg.querySelectorAll('circle').forEach(function(c){"
      "if(c.getBoundingClientRect().width>0)n++;});"
      "document.title='points='+n+' cp='+svg.querySelectorAll('line.cp').length;");
  EXPECT_NE(drawn.find("points=15 cp=1"), std::string::npos) << drawn.substr(0, 500);

  // The filters: arm64 only hides every x86_64 section and news row.
  std::string filtered = dom_after(
      "filtered",
      "document.querySelector('select[name=arch]').value='arm64';khFilter();"
      "var shown=0,hidden=0;document.querySelectorAll('section.series').forEach(function(e){"
      "if(e.style.display==='none')hidden++;else shown++;});"
      "document.title='shown='+shown+' hidden='+hidden+' x86news='+"
      "Array.from(document.querySelectorAll('table.news tr[data-arch=x86_64]')).filter("
      "function(e){return e.style.display!=='none';}).length;");
  EXPECT_NE(filtered.find("shown=4 hidden=4 x86news=0"), std::string::npos)
      << filtered.substr(0, 500);

  // A real screenshot: a PNG of the window's size, not a blank page.
  std::string png = chromium(page(), tmp_->path() / "dashboard.png", "shot");
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(png.size(), 40'000u);
  // To look at it: KHARNESS_KEEP_DASHBOARD=DIR keeps the PNG and the results
  // folders with the page (DIR/results/dashboard/index.html).
  if (const char* keep = std::getenv("KHARNESS_KEEP_DASHBOARD")) {
    fs::create_directories(keep);
    fs::copy_file(tmp_->path() / "dashboard.png", fs::path(keep) / "dashboard.png",
                  fs::copy_options::overwrite_existing);
    fs::copy(results(), fs::path(keep) / "results",
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace kh::it
