#include "bisect/verdict.h"

#include <gtest/gtest.h>

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
