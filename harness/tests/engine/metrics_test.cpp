#include "engine/metrics.h"

#include <gtest/gtest.h>

namespace kh {
namespace {

TEST(ProgramCasesTest, KtapOutputsBecomeCasesAndCountsEveryOutputGetsItsExitStatus) {
  AgentRecords records;
  records.outputs.push_back({"test_core", "ktap", 0, false, 2.5,
                             "TAP version 13\n1..2\nok 1 test_cgcore_populated\n"
                             "not ok 2 test_cgcore_invalid_domain\n"});
  records.outputs.push_back(
      {"test_kmem", "ktap", 4, false, 0.1, "TAP version 13\n1..0 # SKIP no kmem\n"});
  records.outputs.push_back({"script", "text", 3, true, 600, "ok 1 looks like tap but is not\n"});
  Metrics m;
  auto cases = program_cases(records, m);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[1].program + "/" + cases[1].name, "test_core/test_cgcore_invalid_domain");
  EXPECT_EQ(m.at("kselftest.pass"), 1);
  EXPECT_EQ(m.at("kselftest.fail"), 1);
  EXPECT_EQ(m.at("kselftest.skip"), 1);
  EXPECT_EQ(m.at("kselftest.total"), 3);
  EXPECT_EQ(m.at("test_core.fail"), 1);
  EXPECT_EQ(m.at("test_kmem.pass"), 0);
  EXPECT_EQ(m.at("test_kmem.exit_status"), 4);
  EXPECT_EQ(m.at("script.exit_status"), 3);
  EXPECT_EQ(m.at("script.timed_out"), 1);
  EXPECT_EQ(m.count("script.pass"), 0u) << "text output is not parsed as KTAP";
}

TEST(CollectMetricsTest, ParamsAgentMetricsAndDerivedOnes) {
  PlannedRun run;
  run.params = {{"iterations", "500"}, {"cgroup", "v2"}};
  run.spec.metrics = {{"half", "iterations / 2"}, {"per_iter", "loop_seconds / iterations"}};
  AgentRecords rec;
  rec.metrics["loop_seconds"] = 5;
  std::vector<std::string> errors;
  Metrics m = collect_metrics(run, rec, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_DOUBLE_EQ(m.at("iterations"), 500);
  EXPECT_EQ(m.count("cgroup"), 0u) << "non-numeric params are not metrics";
  EXPECT_DOUBLE_EQ(m.at("half"), 250);
  EXPECT_DOUBLE_EQ(m.at("per_iter"), 0.01);
}

}  // namespace
}  // namespace kh
