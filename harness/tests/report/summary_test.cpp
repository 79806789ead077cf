#include "report/summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "report/sample_runs.h"

namespace kh {
namespace {

using ::testing::HasSubstr;

TEST(SummaryTest, Json) {
  nlohmann::json j = summary_json("nightly", test::sample_runs(), kExitFail);
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["job"], "nightly");
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["counts"], (nlohmann::json{{"pass", 1}, {"fail", 1}, {"infra", 1}, {"skip", 1}}));
  ASSERT_EQ(j["runs"].size(), 4u);
  const nlohmann::json& fail = j["runs"][1];
  EXPECT_EQ(fail["kernel"], "baseline");
  EXPECT_EQ(fail["release"], "6.1.192");
  EXPECT_EQ(fail["arch"], "x86_64");
  EXPECT_EQ(fail["workload"], "dying-cgroup");
  EXPECT_EQ(fail["repeat"], 1);
  EXPECT_EQ(fail["outcome"], "fail");
  EXPECT_EQ(fail["reason"], "assertion failed: settled.nr_dying_descendants == 0");
  EXPECT_EQ(fail["accel"], "tcg");
  EXPECT_EQ(fail["run_dir"], "baseline/x86_64/dying-cgroup/1");
  EXPECT_EQ(fail["metrics"]["settled.nr_dying_descendants"], 211);
  EXPECT_EQ(fail["assertions"].size(), 3u);
  EXPECT_EQ(fail["assertions"][0]["passed"], false);
  EXPECT_EQ(fail["timings"]["total"], 16.75);
  EXPECT_TRUE(j["runs"][2]["metrics"].empty());
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(SummaryTest, TableColumnsAlignAndCount) {
  std::vector<RunResult> runs = test::sample_runs();
  for (RunResult& r : runs) r.kernel.name = "dying-memcg-v2";  // wider than "KERNEL"
  std::string table = summary_table(runs, {{"dying-cgroup", "settled.nr_dying_descendants"}});
  std::vector<std::string> lines = lines_of(table);
  ASSERT_EQ(lines.size(), 6u) << table;
  EXPECT_EQ(lines[0].rfind("KERNEL", 0), 0u);
  // Every column starts at the same offset on every row.
  for (const char* header : {"ARCH", "WORKLOAD", "OUTCOME", "KEY-METRIC"}) {
    std::size_t col = lines[0].find(header);
    ASSERT_NE(col, std::string::npos) << header;
    for (std::size_t i = 1; i < 5; ++i) EXPECT_NE(lines[i][col], ' ') << header << " row " << i;
    for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(lines[i][col - 1], ' ') << header << " row " << i;
  }
  EXPECT_EQ(lines[0].size(), lines[1].size());  // TIME(s) is right-aligned to the same edge
  EXPECT_THAT(lines[1], HasSubstr("dying-memcg-v2"));
  EXPECT_THAT(lines[1], HasSubstr("dying-cgroup#0"));
  EXPECT_THAT(lines[1], HasSubstr("settled.nr_dying_descendants=211"));
  EXPECT_THAT(lines[1], HasSubstr("16.8"));
  EXPECT_THAT(lines[3], HasSubstr("infra"));
  EXPECT_THAT(lines[3], HasSubstr("settled.nr_dying_descendants=-"));  // no metrics: infra
  EXPECT_EQ(lines[5], "4 runs: 1 pass, 1 fail, 1 infra, 1 skip");
}

// TIME is the run's own; the kernel's build time stands apart, once per
// kernel and arch, whatever the runs' order.
TEST(SummaryTest, BuildTimeShownOncePerKernelApartFromTheRunsTime) {
  std::vector<RunResult> runs;
  for (const char* arch : {"x86_64", "x86_64", "arm64"}) {
    RunResult r = test::sample_run(Outcome::pass);
    r.arch = arch;
    r.timings = {{"build", std::string(arch) == "x86_64" ? 212.0 : 0.0}, {"total", 4.5}};
    runs.push_back(r);
  }
  std::vector<std::string> lines = lines_of(summary_table(runs, {}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], ::testing::EndsWith("TIME(s)  BUILD(s)"));
  EXPECT_THAT(lines[1], ::testing::EndsWith("4.5     212.0"));
  EXPECT_THAT(lines[2], ::testing::EndsWith("4.5          "));  // the same kernel: said once
  EXPECT_THAT(lines[3], ::testing::EndsWith("4.5     cache"));
}

TEST(SummaryTest, TableWithoutKeyMetric) {
  std::string table = summary_table({test::sample_run(Outcome::pass)}, {});
  std::vector<std::string> lines = lines_of(table);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], HasSubstr("dying-cgroup "));  // no "#0" for a single run
  EXPECT_THAT(lines[1], ::testing::Not(HasSubstr("#0")));
  EXPECT_THAT(lines[1], HasSubstr(" - "));
  EXPECT_EQ(lines[2], "1 run: 1 pass, 0 fail, 0 infra, 0 skip");
}

}  // namespace
}  // namespace kh
