// kharness compare on real kernels: Linux 6.1 against 6.1 plus the
// example series that reclaims a memcg's pages at offline and 6.1 plus the
// one that reparents them. The dying memcgs must fall, significantly, on
// both; the page cache with them on the first only; and the HTML report
// must render in a real browser.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "kharness_cli.h"
#include "util/files.h"
#include "util/process.h"

namespace kh::it {
namespace {

class CompareReclaim : public JobRunTest {
 protected:
  static void SetUpTestSuite() {
    start({"compare", job("compare-reclaim.yaml"), "--repeats", "5", "--quiet"});
  }
  static void TearDownTestSuite() { finish(); }

  static nlohmann::json metric(const std::string& name) {
    auto j = read_json(out() / "compare.json");
    for (const auto& m : j["groups"][0]["metrics"])
      if (m["name"] == name) return m;
    return {};
  }
};

TEST_F(CompareReclaim, RunsEveryKernelFiveTimes) {
  ASSERT_EQ(cli().exit_code, 0) << cli().output;
  auto j = read_json(out() / "compare.json");
  EXPECT_EQ(j["base"], "linux-6.1");
  ASSERT_EQ(j["groups"].size(), 1u);
  for (const auto& runs : j["groups"][0]["runs"])
    EXPECT_EQ(runs["pass"].get<int>() + runs["fail"].get<int>() + runs["infra"].get<int>() +
                  runs["skip"].get<int>(),
              5)
        << runs.dump();
  auto summary = read_json(out() / "summary.json");
  EXPECT_EQ(summary["runs"].size(), 15u);
}

TEST_F(CompareReclaim, DyingMemcgsFallSignificantly) {
  auto m = metric("dying_after_loop");
  ASSERT_FALSE(m.is_null()) << cli().output;
  const auto& base = m["kernels"][0];
  const auto& patched = m["kernels"][1];
  EXPECT_GE(base["median"].get<double>(), 0.9 * 500) << m.dump();
  // A backlog of offline work is left at the end of the loop (about 40
  // here, whatever the iterations): bounded, where 6.1 grows by one each.
  EXPECT_LE(patched["median"].get<double>(), 0.2 * 500) << m.dump();
  EXPECT_LT(patched["change"].get<double>(), -0.5);
  EXPECT_TRUE(patched["significant"].get<bool>()) << m.dump();
  EXPECT_LT(patched["mann_whitney"]["p"].get<double>(), 0.05);
  EXPECT_LT(patched["welch"]["p"].get<double>(), 0.05);
}

TEST_F(CompareReclaim, TheCostIsThePageCacheDropped) {
  auto m = metric("parent_file_kb");
  ASSERT_FALSE(m.is_null());
  // 6.1 keeps the page each iteration wrote (4 kB, charged to the dying
  // children); the series reclaims them at rmdir.
  EXPECT_GE(m["kernels"][0]["median"].get<double>(), 0.9 * 500 * 4) << m.dump();
  EXPECT_LT(m["kernels"][1]["change"].get<double>(), -0.5) << m.dump();
  EXPECT_TRUE(m["kernels"][1]["significant"].get<bool>()) << m.dump();
}

// Leak, drop or reparent: the reparenting stand-in keeps what the
// children wrote (500 pages) in the parent once the offline work is done,
// where reclaim-on-offline drops it, and leaves nothing dying either.
TEST_F(CompareReclaim, TheReparentingKernelKeepsThePageCache) {
  auto kept = metric("parent_file_kept_kb");
  ASSERT_FALSE(kept.is_null()) << cli().output;
  ASSERT_EQ(kept["kernels"].size(), 3u) << kept.dump();
  EXPECT_GE(kept["kernels"][0]["median"].get<double>(), 0.9 * 500 * 4) << kept.dump();
  EXPECT_LT(kept["kernels"][1]["median"].get<double>(), 0.1 * 500 * 4) << kept.dump();
  EXPECT_GE(kept["kernels"][2]["median"].get<double>(), 0.9 * 500 * 4) << kept.dump();
  auto dying = metric("dying_kept");
  ASSERT_FALSE(dying.is_null());
  EXPECT_GE(dying["kernels"][0]["median"].get<double>(), 0.9 * 500) << dying.dump();
  EXPECT_LE(dying["kernels"][2]["median"].get<double>(), 0.1 * 500) << dying.dump();

  // Only the reparenting kernel keeps the page cache (the workload's
  // default assertions on it); the dropping one fails them.
  auto j = read_json(out() / "compare.json");
  std::map<std::string, nlohmann::json> by_expr;
  for (const auto& a : j["groups"][0]["assertions"]) by_expr[a["expression"]] = a;
  auto keeps = by_expr["parent_file_kept_kb >= 0.9 * written_kb"];
  ASSERT_FALSE(keeps.is_null()) << j["groups"][0]["assertions"].dump();
  EXPECT_EQ(keeps["kernels"][1]["verdict"], "fail");
  EXPECT_EQ(keeps["kernels"][2]["verdict"], "pass");
  EXPECT_TRUE(keeps["kernels"][2]["own"].get<bool>());
  auto drops = by_expr["drops == 1"];
  ASSERT_FALSE(drops.is_null());
  EXPECT_EQ(drops["kernels"][0]["verdict"], "fail");
  EXPECT_EQ(drops["kernels"][1]["verdict"], "pass");
  EXPECT_EQ(drops["kernels"][2]["verdict"], "fail");
  auto reparents = by_expr["reparents == 1"];
  ASSERT_FALSE(reparents.is_null());
  EXPECT_EQ(reparents["kernels"][0]["verdict"], "fail");
  EXPECT_EQ(reparents["kernels"][1]["verdict"], "fail");
  EXPECT_EQ(reparents["kernels"][2]["verdict"], "pass");
  for (const auto& runs : j["groups"][0]["runs"]) {
    if (runs["kernel"] == "reparent-on-offline") {
      EXPECT_EQ(runs["pass"], 5) << runs.dump();
    }
  }
}

TEST_F(CompareReclaim, MarkdownNamesTheChangeAndTheFlip) {
  std::string md = read_file(out() / "compare.md");
  EXPECT_NE(cli().output.find(md.substr(0, 200)), std::string::npos) << cli().output;
  EXPECT_NE(md.find("Significant changes against linux-6.1: dying_after_loop (key) -"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### Assertions that flip"), std::string::npos);
  // 6.1's own expectation fails on the patched kernel, and the workload's
  // default assertion the other way round.
  auto j = read_json(out() / "compare.json");
  std::map<std::string, nlohmann::json> by_expr;
  for (const auto& a : j["groups"][0]["assertions"]) by_expr[a["expression"]] = a;
  auto leak = by_expr["dying_after_loop >= 0.9 * iterations"];
  ASSERT_FALSE(leak.is_null()) << j["groups"][0]["assertions"].dump();
  EXPECT_TRUE(leak["flips"].get<bool>());
  EXPECT_EQ(leak["kernels"][0]["verdict"], "pass");
  EXPECT_EQ(leak["kernels"][1]["verdict"], "fail");
  auto fixed = by_expr["dying_after_loop <= 0.1 * iterations"];
  ASSERT_FALSE(fixed.is_null());
  EXPECT_EQ(fixed["kernels"][0]["verdict"], "fail");
  EXPECT_TRUE(fixed["kernels"][1]["own"].get<bool>());
}

TEST_F(CompareReclaim, ResultFoldersCompareWithoutRunning) {
  ScopedTempDir again("kharness-it");
  auto r = run_kharness({"compare", out().string(), "--out", again.path().string(), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << r.output;
  // The same runs, the same report (past its header, which names the folder).
  std::string first = read_file(out() / "compare.md");
  std::string second = read_file(again.path() / "compare.md");
  EXPECT_EQ(second.substr(second.find("## ")), first.substr(first.find("## ")));
  EXPECT_TRUE(std::filesystem::exists(again.path() / "compare.html"));
  EXPECT_FALSE(std::filesystem::exists(again.path() / "summary.json"));

  // One kernel's folder alone has nothing to compare it with.
  auto one = run_kharness(
      {"compare", (out() / "linux-6.1").string(), "--out", (again.path() / "one").string()});
  EXPECT_EQ(one.exit_code, 2) << one.output;
  EXPECT_NE(one.output.find("at least two kernels"), std::string::npos) << one.output;
}

TEST_F(CompareReclaim, HtmlRendersWithItsPlots) {
  std::string html = read_file(out() / "compare.html");
  std::regex img("<img src=\"([^\"]+)\"");
  std::set<std::string> files;
  for (std::sregex_iterator it(html.begin(), html.end(), img), end; it != end; ++it)
    files.insert((*it)[1].str());
  EXPECT_TRUE(files.count("plots/g0-s0.svg")) << "no dying_at series plot";
  EXPECT_GE(files.size(), 3u);
  for (const auto& f : files) {
    std::string svg;
    ASSERT_TRUE(read_file_if_exists(out() / f, svg)) << f;
    EXPECT_NE(svg.find("<svg"), std::string::npos) << f;
  }

  // A real browser draws it: the screenshot is a PNG, and much bigger than
  // the screenshot of an empty page of the same size (a blank PNG
  // compresses to almost nothing).
  auto chromium = find_program("chromium");
  ASSERT_FALSE(chromium.empty()) << "chromium is not installed (harness/setup.sh)";
  ScopedTempDir tmp("kharness-shot");
  write_file(tmp.path() / "blank.html", "<!DOCTYPE html><html><body></body></html>\n");
  auto shoot = [&](const std::filesystem::path& page, const std::filesystem::path& png) {
    RealProcessRunner runner;
    Command c;
    c.argv = {chromium.string(),
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--hide-scrollbars",
              "--window-size=1280,2400",
              "--user-data-dir=" + (tmp.path() / "profile").string(),
              "--screenshot=" + png.string(),
              "file://" + page.string()};
    c.timeout = std::chrono::seconds(180);
    ProcessResult r = runner.run(c);
    std::string data;
    EXPECT_TRUE(read_file_if_exists(png, data)) << r.output;
    return data;
  };
  std::string shot =
      shoot(std::filesystem::absolute(out() / "compare.html"), tmp.path() / "compare.png");
  std::string blank = shoot(tmp.path() / "blank.html", tmp.path() / "blank.png");
  ASSERT_GT(shot.size(), 8u);
  EXPECT_EQ(shot.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(shot[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(shot[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(shot[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(shot[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);
  EXPECT_EQ(be32(20), 2400u);
  EXPECT_GT(shot.size(), 50'000u);
  EXPECT_GT(shot.size(), 5 * blank.size()) << "the screenshot looks blank";
}

}  // namespace
}  // namespace kh::it
