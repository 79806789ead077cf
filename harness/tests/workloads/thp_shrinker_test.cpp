// workloads/thp-shrinker/workload.yaml against the records of a real run
// (Linux 6.1 x86_64, two emulated nodes, defaults): its derived metrics all
// evaluate, say what the run did, and its default assertions give 6.1's
// verdict. No QEMU: this is the yaml's own test.
#include <gtest/gtest.h>

#include "analysis/assertions.h"
#include "analysis/records.h"
#include "core/paths.h"
#include "core/workload.h"
#include "test_util.h"

namespace kh {
namespace {

class ThpShrinkerSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    spec_ = load_workload(Paths::from_environment().workloads_root(), "thp-shrinker");
    AgentRecords r = parse_records(test::read_data("records/v2_thp_shrinker_run.jsonl"));
    ASSERT_TRUE(r.done_ok);
    for (const auto& snap : r.snapshots)
      for (const auto& [k, v] : snapshot_metrics(snap)) m_[k] = v;
    for (const auto& [k, v] : r.metrics) m_[k] = v;
    m_["thps"] = 32;
    m_["offline_wait_ms"] = 1000;
    errors_ = derive_metrics(spec_.metrics, m_);
  }
  WorkloadSpec spec_;
  Metrics m_;
  std::vector<std::string> errors_;
};

TEST_F(ThpShrinkerSpec, EveryDerivedMetricEvaluates) {
  EXPECT_TRUE(errors_.empty()) << errors_.front();
  for (const auto& [name, expr] : spec_.metrics) EXPECT_EQ(m_.count(name), 1u) << name;
}

TEST_F(ThpShrinkerSpec, MetricsSayWhatTheRunDid) {
  EXPECT_EQ(m_.at("numa_nodes"), 2);
  for (const char* x : {"a", "b"}) {
    const std::string p = x;
    EXPECT_EQ(m_.at(p + "_thp_allocated"), 32) << x;
    EXPECT_EQ(m_.at(p + "_thp_queued"), 32) << x;
    EXPECT_EQ(m_.at(p + "_anon_thp_faulted"), 32) << x;
    EXPECT_EQ(m_.at(p + "_anon_thp_queued"), 0) << x;  // PMD split by MADV_DONTNEED
    EXPECT_EQ(m_.at(p + "_thp_before_reclaim"), 32) << x;
    EXPECT_EQ(m_.at(p + "_thp_node0"), 16) << x;
    EXPECT_EQ(m_.at(p + "_thp_node1"), 16) << x;
  }
  EXPECT_EQ(m_.at("b_thp_split"), 32);
  EXPECT_EQ(m_.at("b_thp_after_reclaim"), 0);
  EXPECT_EQ(m_.at("reclaim_thp_split_page"), 32);
  EXPECT_EQ(m_.at("a_thp_split_by_b_reclaim"), 0);
  EXPECT_EQ(m_.at("removed_thp"), 32);
  EXPECT_EQ(m_.at("removed_thp_split"), 0);
  EXPECT_EQ(m_.at("removed_thp_left_node0") + m_.at("removed_thp_left_node1"), 32);
  EXPECT_EQ(m_.at("dropped_thp_left"), 32);
  EXPECT_GT(m_.at("a_kernel_kb"), 0);
  EXPECT_EQ(m_.at("tainted"), 0);
}

TEST_F(ThpShrinkerSpec, DefaultAssertionsFailOnlyOnTheStrandedQueue) {
  auto results = evaluate_assertions(spec_.assertions, m_);
  ASSERT_EQ(results.size(), spec_.assertions.size());
  for (const auto& a : results) {
    EXPECT_TRUE(a.error.empty()) << a.expression << ": " << a.error;
    EXPECT_EQ(a.passed, a.expression.find("removed_thp_split") == std::string::npos)
        << a.expression;
  }
}

TEST_F(ThpShrinkerSpec, ReclaimFromBThatSplitsNothingFails) {
  // The review's bug: B's THPs left on the queue after reclaim from B.
  Metrics bad = m_;
  bad["b_thp_split"] = 0;
  bad["reclaim_thp_split_page"] = 0;
  int failed = 0;
  for (const auto& a : evaluate_assertions(spec_.assertions, bad)) failed += !a.passed;
  EXPECT_EQ(failed, 3);  // b_thp_split, reclaim_thp_split_page, removed_thp_split
}

}  // namespace
}  // namespace kh
