#include "bisect/bisect.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "bisect/log.h"
#include "util/error.h"

namespace kh {
namespace {

// A history of commits with what building and running each gives.
struct FakeCommit {
  bool builds = true;
  std::string hash;                // image hash; empty: unique per commit
  std::vector<Outcome> outcomes;   // one per try
  std::vector<std::string> crash;  // titles in the first try
};

class FakeTester : public StepTester {
 public:
  std::map<std::string, FakeCommit> commits;
  std::vector<std::string> built, ran;
  int tries_run = 0;

  KernelBuild build(const Commit& c) override {
    built.push_back(c.sha);
    const FakeCommit& f = commits.at(c.sha);
    KernelBuild b;
    b.ok = f.builds;
    if (!f.builds)
      b.error =
          "build of bisect/x86_64 failed (make exit 2); last error: mm/memcontrol.c:5431: error";
    b.hash = f.hash.empty() ? "hash-" + c.sha : f.hash;
    b.seconds = 30;
    return b;
  }
  // Try k gives outcomes[k], cycling through the list.
  std::vector<TryResult> run(const Commit& c, const KernelBuild&, int, int first,
                             int count) override {
    if (first == 0) ran.push_back(c.sha);
    const FakeCommit& f = commits.at(c.sha);
    std::vector<TryResult> tries;
    for (int k = first; k < first + count; ++k) {
      ++tries_run;
      std::size_t i = static_cast<std::size_t>(k);
      TryResult t;
      t.outcome = f.outcomes[i % f.outcomes.size()];
      t.reason = t.outcome == Outcome::fail ? "dying_settled <= 0.1 * iterations: 50" : "";
      if (i == 0) t.crash_titles = f.crash;
      t.metrics["dying_settled"] = t.outcome == Outcome::fail ? 50 : 0;
      tries.push_back(t);
    }
    return tries;
  }
};

Commit C(int i) {
  return Commit{fmt::format("{:040d}", i), fmt::format("commit {}", i), ""};
}

// The selftest-bisect fixture's shape: c0 good base; c1..c9; c4 does not
// build; c6 builds the same kernel as c5; c7 leaks.
class FixtureBisect : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i <= 9; ++i) {
      FakeCommit f;
      f.outcomes = i >= 7 ? std::vector<Outcome>{Outcome::fail, Outcome::fail, Outcome::infra}
                          : std::vector<Outcome>{Outcome::pass, Outcome::infra, Outcome::pass};
      tester.commits[C(i).sha] = f;
    }
    tester.commits[C(4).sha].builds = false;
    tester.commits[C(5).sha].hash = tester.commits[C(6).sha].hash = "same-image";
    for (int i = 1; i <= 9; ++i) between.push_back(C(i));
  }
  FakeTester tester;
  std::vector<Commit> between;
  int sink_calls = 0;
  SummarySink sink = [this](const BisectSummary&) { ++sink_calls; };
};

TEST_F(FixtureBisect, NamesTheLeakSkipsTheBreakerAndReusesTheIdenticalKernel) {
  BisectSummary r = run_bisect(C(0), between, tester, sink);
  ASSERT_EQ(r.first_bad.size(), 1u);
  EXPECT_EQ(r.first_bad.front().sha, C(7).sha);
  EXPECT_NE(r.conclusion.find("first bad commit: " + C(7).sha.substr(0, 12) + " commit 7"),
            std::string::npos)
      << r.conclusion;
  // Ends first, then 4 builds: c4 (fails), c5, c7, c6 (same kernel as c5).
  EXPECT_EQ(tester.built,
            (std::vector<std::string>{C(0).sha, C(9).sha, C(4).sha, C(5).sha, C(7).sha, C(6).sha}));
  EXPECT_EQ(tester.ran, (std::vector<std::string>{C(0).sha, C(9).sha, C(5).sha, C(7).sha}));
  ASSERT_EQ(r.steps.size(), 6u);
  EXPECT_EQ(r.steps[2].commit.sha, C(4).sha);
  EXPECT_EQ(r.steps[2].judgement.verdict, StepVerdict::skip);
  EXPECT_EQ(r.steps[2].judgement.why.rfind("build failed: ", 0), 0u);
  EXPECT_EQ(r.steps[5].reused_from, C(5).sha);
  EXPECT_EQ(r.steps[5].judgement.verdict, StepVerdict::good);
  EXPECT_TRUE(r.steps[5].tries.empty());
  EXPECT_EQ(sink_calls, 7);  // after each step and at the end
  EXPECT_TRUE(r.finished);
}

TEST_F(FixtureBisect, AGoodEndThatFailsIsAnInputErrorAndTheLogSaysSo) {
  tester.commits[C(0).sha].outcomes = {Outcome::fail, Outcome::fail, Outcome::fail};
  BisectSummary last;
  try {
    run_bisect(C(0), between, tester, [&](const BisectSummary& r) { last = r; });
    FAIL() << "no error";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("--good " + C(0).sha.substr(0, 12) + " commit 0 is bad, not good", 0), 0u)
        << msg;
  }
  EXPECT_EQ(last.conclusion.rfind("--good", 0), 0u);
  EXPECT_EQ(tester.built.size(), 1u);  // nothing after the failed end
}

TEST_F(FixtureBisect, ABadEndThatDoesNotBuildIsAnInputError) {
  tester.commits[C(9).sha].builds = false;
  EXPECT_THROW(run_bisect(C(0), between, tester, sink), InputError);
}

TEST_F(FixtureBisect, ACrashMakesAStepBadWhateverTheMetrics) {
  // From c3 on every kernel splats, though c3..c6 pass the assertion: c3
  // is the first bad one now.
  for (int i = 3; i <= 9; ++i)
    tester.commits[C(i).sha].crash = {"WARNING in mem_cgroup_css_offline"};
  BisectSummary r = run_bisect(C(0), between, tester, sink);
  ASSERT_EQ(r.first_bad.size(), 1u);
  EXPECT_EQ(r.first_bad.front().sha, C(3).sha);
}

TEST_F(FixtureBisect, SeriesCheckNamesThePatchThatChangesTheVerdict) {
  std::vector<Commit> patches(between.begin(), between.end());
  for (std::size_t i = 0; i < patches.size(); ++i)
    patches[i].label = fmt::format("{:04d}-x.patch", i + 1);
  tester.commits[C(8).sha].crash = {"WARNING in mem_cgroup_css_free"};
  BisectSummary r = run_series_check(C(0), patches, tester, sink);
  ASSERT_TRUE(r.verdict_changed_at);
  EXPECT_EQ(r.verdict_changed_at->sha, C(7).sha);
  ASSERT_TRUE(r.splat_at);
  EXPECT_EQ(r.splat_at->sha, C(8).sha);
  EXPECT_EQ(r.splat_title, "WARNING in mem_cgroup_css_free");
  ASSERT_EQ(r.steps.size(), 10u);
  EXPECT_EQ(r.steps[4].judgement.verdict, StepVerdict::skip);  // 0004
  EXPECT_EQ(r.steps[6].reused_from, C(5).sha);                 // 0006: same kernel
  EXPECT_NE(r.conclusion.find("verdict changes (good -> bad) at " + C(7).sha.substr(0, 12)),
            std::string::npos)
      << r.conclusion;
  EXPECT_NE(r.conclusion.find("1 patch skipped"), std::string::npos) << r.conclusion;
  // Every patch built, only distinct kernels ran.
  EXPECT_EQ(tester.built.size(), 10u);
  EXPECT_EQ(tester.ran.size(), 8u);
}

TEST_F(FixtureBisect, TheLogCarriesEveryStep) {
  BisectSummary r = run_bisect(C(0), between, tester, sink);
  nlohmann::json j = bisect_json(r);
  EXPECT_EQ(j["mode"], "bisect");
  ASSERT_EQ(j["steps"].size(), 6u);
  EXPECT_EQ(j["steps"][0]["role"], "good end");
  EXPECT_EQ(j["steps"][0]["tries"].size(), 3u);
  EXPECT_EQ(j["steps"][0]["tries"][1]["outcome"], "infra");
  EXPECT_EQ(j["steps"][1]["tries"][0]["metrics"]["dying_settled"], 50);
  EXPECT_EQ(j["steps"][2]["build"]["ok"], false);
  EXPECT_EQ(j["steps"][2]["verdict"], "skip");
  EXPECT_EQ(j["steps"][5]["reused_from"], C(5).sha);
  EXPECT_EQ(j["steps"][3]["build"]["kernel_hash"], "same-image");
  EXPECT_EQ(j["first_bad"][0]["commit"], C(7).sha);
  EXPECT_EQ(j["first_bad"][0]["subject"], "commit 7");
  std::string text = bisect_log_text(r);
  EXPECT_NE(text.find("step 3 (bisect): " + C(4).sha.substr(0, 12) + " commit 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("build: FAILED"), std::string::npos);
  EXPECT_NE(text.find("first bad commit: "), std::string::npos);
}

// --tries auto on the same history with clean tries: a clear step costs
// one run, the ends two (before any rate is known), against 3 a step.
TEST_F(FixtureBisect, AutoTriesNameTheSameCulpritWithFewerRuns) {
  for (int i = 0; i <= 9; ++i)
    tester.commits[C(i).sha].outcomes = {i >= 7 ? Outcome::fail : Outcome::pass};
  TryPolicy automatic{TryMode::until_confident, 3, 0.95, 10};
  BisectSummary r = run_bisect(C(0), between, tester, sink, automatic);
  ASSERT_EQ(r.first_bad.size(), 1u);
  EXPECT_EQ(r.first_bad.front().sha, C(7).sha);
  int auto_runs = tester.tries_run;
  ASSERT_EQ(r.steps.size(), 6u);
  EXPECT_EQ(r.steps[0].tries.size(), 2u);  // good end: 0.9 after one, 0.988 after two
  EXPECT_EQ(r.steps[1].tries.size(), 2u);
  EXPECT_EQ(r.steps[3].tries.size(), 1u);  // c5, with the rates of the ends
  EXPECT_EQ(r.steps[4].tries.size(), 1u);  // c7
  for (const auto& s : r.steps) {
    if (s.judgement.verdict != StepVerdict::skip) {
      EXPECT_GE(s.judgement.confidence, 0.95 - 1e-9) << s.number;
    }
  }
  EXPECT_NE(r.conclusion.find("6 runs; confidence "), std::string::npos) << r.conclusion;
  EXPECT_GT(r.confidence, 0.7);
  EXPECT_LT(r.confidence, 1.0);

  FakeTester fixed_tester;
  fixed_tester.commits = tester.commits;
  BisectSummary fixed = run_bisect(C(0), between, fixed_tester, sink, {});
  EXPECT_EQ(fixed.first_bad.front().sha, C(7).sha);
  EXPECT_EQ(fixed_tester.tries_run, 12);  // 3 a step, 4 steps run
  EXPECT_LT(auto_runs, fixed_tester.tries_run);
}

// A flaky good end (one failure in four tries) raises the failure rate of
// good kernels, so later steps need more than one try: a flaky bisect costs
// more runs, and a step whose tries disagree is still decided.
TEST_F(FixtureBisect, AFlakyBisectCostsMoreTriesAndStillDecides) {
  for (int i = 0; i <= 9; ++i)
    tester.commits[C(i).sha].outcomes = {i >= 7 ? Outcome::fail : Outcome::pass};
  tester.commits[C(0).sha].outcomes = {Outcome::pass, Outcome::fail, Outcome::pass, Outcome::pass};
  tester.commits[C(5).sha].outcomes = {Outcome::fail, Outcome::pass, Outcome::pass, Outcome::pass};
  BisectSummary r = run_bisect(C(0), between, tester, sink, {TryMode::until_confident, 3, 0.95, 10});
  ASSERT_EQ(r.first_bad.size(), 1u);
  EXPECT_EQ(r.first_bad.front().sha, C(7).sha);
  EXPECT_EQ(r.steps[0].tries.size(), 4u);  // pass, fail (a tie), pass, pass
  const StepRecord& c5 = r.steps[3];
  ASSERT_EQ(c5.commit.sha, C(5).sha);
  EXPECT_EQ(c5.judgement.verdict, StepVerdict::good);
  EXPECT_EQ(c5.tries.size(), 3u);  // fail, pass, pass
  EXPECT_GE(c5.judgement.confidence, 0.95);
  EXPECT_EQ(r.steps[4].tries.size(), 3u);  // c7: three failures, where clean ends take one
  std::string log = bisect_log_text(r);
  EXPECT_NE(log.find("tries per step: auto (until confidence 0.95, at most 10)"), std::string::npos)
      << log;
  EXPECT_NE(log.find(fmt::format("verdict: good, confidence {:.3f}", c5.judgement.confidence)),
            std::string::npos)
      << log;
}

TEST_F(FixtureBisect, AStepStillUnsureAtTheCapIsSkipped) {
  for (int i = 0; i <= 9; ++i)
    tester.commits[C(i).sha].outcomes = {i >= 7 ? Outcome::fail : Outcome::pass};
  tester.commits[C(0).sha].outcomes = {Outcome::pass, Outcome::fail, Outcome::pass, Outcome::pass};
  tester.commits[C(5).sha].outcomes = {Outcome::pass, Outcome::fail, Outcome::fail, Outcome::fail};
  BisectSummary r = run_bisect(C(0), between, tester, sink, {TryMode::until_confident, 3, 0.95, 4});
  const StepRecord& c5 = r.steps[3];
  ASSERT_EQ(c5.commit.sha, C(5).sha);
  EXPECT_EQ(c5.tries.size(), 4u);
  EXPECT_EQ(c5.judgement.verdict, StepVerdict::skip);
  // 0.95^3 * 0.05 / (0.95^3 * 0.05 + 0.2^3 * 0.8), with the rates of the ends.
  EXPECT_EQ(c5.judgement.why.rfind("unsure after 4 tries: bad only with confidence 0.870", 0), 0u)
      << c5.judgement.why;
}

TEST_F(FixtureBisect, FixedTriesStillStateTheirConfidence) {
  BisectSummary r = run_bisect(C(0), between, tester, sink);
  // Good end: two passes and an infra try under the priors.
  EXPECT_NEAR(r.steps[0].judgement.confidence, 1 - 1 / (1 + 81.0), 1e-9);
  EXPECT_TRUE(std::isnan(r.steps[2].judgement.confidence));                     // c4 did not build
  EXPECT_EQ(r.steps[5].judgement.confidence, r.steps[3].judgement.confidence);  // reused
  nlohmann::json j = bisect_json(r);
  EXPECT_EQ(j["tries"], 3);
  EXPECT_TRUE(j["steps"][0].contains("confidence"));
  EXPECT_FALSE(j["steps"][2].contains("confidence"));
  EXPECT_TRUE(j.contains("confidence"));
}

}  // namespace
}  // namespace kh
