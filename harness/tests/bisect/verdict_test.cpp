#include "bisect/verdict.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kh {
namespace {

TryResult make(Outcome o, std::vector<std::string> titles = {}) {
  TryResult t;
  t.outcome = o;
  t.reason = o == Outcome::fail ? "dying_settled <= 0.1 * iterations: 50" : "";
  t.crash_titles = std::move(titles);
  return t;
}

TEST(JudgeTries, ACrashInAnyTryIsBadEvenWhenTheOthersPass) {
  auto j = judge_tries({make(Outcome::pass), make(Outcome::fail, {"WARNING in css_killed_work_fn"}),
                        make(Outcome::pass)});
  EXPECT_EQ(j.verdict, StepVerdict::bad);
  EXPECT_EQ(j.why, "kernel report in try 2: WARNING in css_killed_work_fn");
}

TEST(JudgeTries, ACrashInAnInfraTryStillCounts) {
  // A guest that panicked and then stopped answering: the report decides.
  auto j = judge_tries({make(Outcome::infra, {"kernel panic: Fatal exception"})});
  EXPECT_EQ(j.verdict, StepVerdict::bad);
}

TEST(JudgeTries, MetricAssertionsByMajority) {
  EXPECT_EQ(judge_tries({make(Outcome::pass), make(Outcome::pass), make(Outcome::fail)}).verdict,
            StepVerdict::good);
  auto bad = judge_tries({make(Outcome::fail), make(Outcome::pass), make(Outcome::fail)});
  EXPECT_EQ(bad.verdict, StepVerdict::bad);
  EXPECT_NE(bad.why.find("1 pass, 2 fail"), std::string::npos) << bad.why;
  EXPECT_NE(bad.why.find("dying_settled"), std::string::npos) << bad.why;
}

TEST(JudgeTries, InfraTriesDoNotVote) {
  EXPECT_EQ(judge_tries({make(Outcome::pass), make(Outcome::infra), make(Outcome::infra)}).verdict,
            StepVerdict::good);
  EXPECT_EQ(judge_tries({make(Outcome::infra), make(Outcome::fail), make(Outcome::skip)}).verdict,
            StepVerdict::bad);
  auto none = judge_tries({make(Outcome::infra), make(Outcome::infra), make(Outcome::skip)});
  EXPECT_EQ(none.verdict, StepVerdict::skip);
  EXPECT_NE(none.why.find("no try gave a verdict"), std::string::npos);
}

TEST(JudgeTries, ATieIsASkip) {
  auto j = judge_tries({make(Outcome::pass), make(Outcome::fail), make(Outcome::infra)});
  EXPECT_EQ(j.verdict, StepVerdict::skip);
  EXPECT_EQ(j.why.rfind("tie", 0), 0u);
}

TEST(JudgeTries, NoTriesIsASkip) {
  EXPECT_EQ(judge_tries({}).verdict, StepVerdict::skip);
}

TEST(TryFromRun, ToleratedReportsAreNotCrashes) {
  RunResult r;
  r.outcome = Outcome::pass;
  ConsoleFinding known{"WARNING", "WARNING in lru_gen_reparent_memcg", 10, false, true, ""};
  ConsoleFinding fresh{"BUG", "BUG: Bad page state in free_pages", 20, false, false, ""};
  r.console = {known};
  EXPECT_TRUE(try_from_run(r).crash_titles.empty());
  r.console = {known, fresh};
  EXPECT_EQ(try_from_run(r).crash_titles, std::vector<std::string>{fresh.title});
}

TEST(StepConfidence, UnderThePriorsOneTryIsNinetyPercentAndTwoAreMore) {
  TryRates prior = estimate_rates({});
  EXPECT_DOUBLE_EQ(prior.fail_if_good, 0.1);
  EXPECT_DOUBLE_EQ(prior.fail_if_bad, 0.9);
  EXPECT_NEAR(step_confidence({make(Outcome::pass)}, StepVerdict::good, prior), 0.9, 1e-12);
  EXPECT_NEAR(step_confidence({make(Outcome::fail)}, StepVerdict::bad, prior), 0.9, 1e-12);
  // 0.81 / (0.81 + 0.01)
  EXPECT_NEAR(step_confidence({make(Outcome::pass), make(Outcome::pass)}, StepVerdict::good, prior),
              0.81 / 0.82, 1e-12);
}

TEST(StepConfidence, InfraTriesCarryNothingAndACrashIsAFailingTry) {
  TryRates prior;
  EXPECT_NEAR(step_confidence({make(Outcome::infra), make(Outcome::skip)}, StepVerdict::bad, prior),
              0.5, 1e-12);
  EXPECT_NEAR(step_confidence({make(Outcome::infra, {"BUG: kernel NULL pointer"})},
                              StepVerdict::bad, prior),
              0.9, 1e-12);
  EXPECT_TRUE(std::isnan(step_confidence({make(Outcome::pass)}, StepVerdict::skip, prior)));
}

TEST(StepConfidence, DisagreeingTriesLowerIt) {
  TryRates prior;
  double clear = step_confidence({make(Outcome::fail), make(Outcome::fail), make(Outcome::fail)},
                                 StepVerdict::bad, prior);
  double mixed = step_confidence({make(Outcome::fail), make(Outcome::pass), make(Outcome::fail)},
                                 StepVerdict::bad, prior);
  EXPECT_GT(clear, 0.99);
  EXPECT_NEAR(mixed, 0.9, 1e-12);  // one pass cancels one failure
  EXPECT_LT(mixed, clear);
  // A hundred tries do not underflow.
  std::vector<TryResult> many(100, make(Outcome::pass));
  EXPECT_NEAR(step_confidence(many, StepVerdict::good, prior), 1.0, 1e-12);
}

TEST(EstimateRates, LearntFromTheJudgedStepsTries) {
  std::vector<TryResult> good = {make(Outcome::pass), make(Outcome::pass), make(Outcome::infra)};
  std::vector<TryResult> bad = {make(Outcome::fail), make(Outcome::pass)};
  std::vector<TryResult> skipped = {make(Outcome::fail)};
  TryRates r = estimate_rates(
      {{StepVerdict::good, &good}, {StepVerdict::bad, &bad}, {StepVerdict::skip, &skipped}});
  EXPECT_DOUBLE_EQ(r.fail_if_good, 0.2 / 4);  // no failure in 2 voting tries
  EXPECT_DOUBLE_EQ(r.fail_if_bad, 2.8 / 4);   // 1 failure in 2
}

TEST(GitBisectExitCode, OnlyZeroOneOr125) {
  EXPECT_EQ(git_bisect_exit_code(StepVerdict::good), 0);
  EXPECT_EQ(git_bisect_exit_code(StepVerdict::bad), 1);
  EXPECT_EQ(git_bisect_exit_code(StepVerdict::skip), 125);
  EXPECT_EQ(git_bisect_exit_code_for(0), 0);
  EXPECT_EQ(git_bisect_exit_code_for(1), 1);
  for (int code : {2, 3, 125, 126, 127, 128, 130, 134, 137, 139, 255, -1})
    EXPECT_EQ(git_bisect_exit_code_for(code), 125) << code;
}

}  // namespace
}  // namespace kh
