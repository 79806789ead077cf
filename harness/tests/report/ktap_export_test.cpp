#include "report/ktap_export.h"

#include <gtest/gtest.h>

#include <sstream>

#include "analysis/ktap.h"
#include "report/sample_runs.h"

namespace kh {
namespace {

using test::sample_run;
using test::sample_runs;

// The n-th (1-based) subtest block of a run, de-indented by one level, as
// KTAP nests it: what a reader does to get at a run's own cases.
std::string subtest_block(const std::string& ktap, int n) {
  std::istringstream in(ktap);
  std::string line, block;
  int seen = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("  KTAP version", 0) == 0) {
      inside = ++seen == n;
      continue;
    }
    if (line.rfind("  ", 0) != 0) {
      inside = false;
      continue;
    }
    if (inside) block += line.substr(2) + "\n";
  }
  return block;
}

TEST(KtapExport, TopLevelRoundTripsThroughOurParser) {
  auto runs = sample_runs();  // pass, fail, infra, skip; repeats 0..3
  std::string text = ktap_export("nightly", runs);
  EXPECT_EQ(text.rfind("KTAP version 1\n", 0), 0u) << text;
  KtapResult k = parse_ktap(text, "nightly");
  EXPECT_EQ(k.planned, 4);
  EXPECT_FALSE(k.bailed_out);
  ASSERT_EQ(k.cases.size(), 4u) << text;
  EXPECT_EQ(k.cases[0].name, "baseline/x86_64/dying-cgroup/0");  // the run folder
  EXPECT_EQ(k.cases[0].status, "pass");
  EXPECT_EQ(k.cases[1].status, "fail");
  EXPECT_EQ(k.cases[1].reason, runs[1].reason);  // the diagnostic just before it
  EXPECT_EQ(k.cases[2].status, "fail");          // infra: not ok # ERROR
  EXPECT_EQ(k.cases[2].reason, "error");
  EXPECT_EQ(k.cases[3].status, "skip");
  EXPECT_EQ(k.cases[3].reason, runs[3].reason);
  EXPECT_EQ(k.cases[3].name, "baseline/x86_64/dying-cgroup/3");
}

TEST(KtapExport, AssertionsAndCasesRoundTripAsSubtests) {
  RunResult r = sample_run(Outcome::fail);
  r.cases = {{"test_memcontrol", "test_memcg_subtree_control", "pass", ""},
             {"test_memcontrol", "test_memcg_swap", "skip", "no swap"},
             {"test_memcontrol", "test_memcg_oom", "fail", "oom # not seen"},
             {"test_kmem", "test_kmem_basic", "xfail", "known"}};
  RunResult ok = sample_run(Outcome::pass);
  std::string text = ktap_export("nightly", {ok, r});

  KtapResult first = parse_ktap(subtest_block(text, 1), "ok");
  ASSERT_EQ(first.cases.size(), 1u) << text;
  EXPECT_EQ(first.cases[0].status, "pass");
  EXPECT_EQ(first.cases[0].name, "assertion settled.nr_dying_descendants <= 300");

  KtapResult second = parse_ktap(subtest_block(text, 2), "fail");
  EXPECT_EQ(second.planned, 7);
  ASSERT_EQ(second.cases.size(), 7u) << text;
  EXPECT_EQ(second.cases[0].status, "fail");
  EXPECT_EQ(second.cases[0].name, "assertion settled.nr_dying_descendants == 0");
  EXPECT_EQ(second.cases[1].status, "fail");
  EXPECT_EQ(second.cases[1].reason, "unknown name 'settled.nr_dying'");
  EXPECT_EQ(second.cases[2].status, "pass");
  EXPECT_EQ(second.cases[3].name, "test_memcontrol test_memcg_subtree_control");
  EXPECT_EQ(second.cases[3].status, "pass");
  EXPECT_EQ(second.cases[4].status, "skip");
  EXPECT_EQ(second.cases[4].reason, "no swap");
  EXPECT_EQ(second.cases[5].status, "fail");
  EXPECT_EQ(second.cases[5].reason, "oom _ not seen");  // no '#' in KTAP text
  EXPECT_EQ(second.cases[6].status, "xfail");
  // Both runs still read as two top-level tests.
  EXPECT_EQ(parse_ktap(text, "nightly").cases.size(), 2u);
}

TEST(KtapExport, KeyMetricIsADiagnosticAndNamesHoldNoHash) {
  RunResult r = sample_run(Outcome::pass);
  r.key_metric = "settled.nr_dying_descendants";
  r.workload = "odd#name";
  r.run_dir.clear();  // no folder: kernel/arch/id
  std::string text = ktap_export("job#1", {r});
  EXPECT_NE(text.find("# settled.nr_dying_descendants = 211\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ok 1 baseline/x86_64/odd_name\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# kharness job job_1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace kh
