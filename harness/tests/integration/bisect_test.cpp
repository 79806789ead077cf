// kharness bisect on real kernels: a git repository made of Debian's 6.1
// tarball plus the kernel-patches/selftest-bisect commits (one leaks a memcg
// css reference, one does not build). Bisect must name the leak and skip the
// build breaker; series mode must name the same patch.
//
// The repository (bisect_fixture_repo.sh) is cached under
// $KHARNESS_CACHE/test-repos/, keyed by the fixture's bytes, so CI makes it
// once. Cheap on purpose: x86_64, the
// default config, 50 iterations, one try per step.
#include <gtest/gtest.h>

#include "kharness_cli.h"
#include "build_info.h"
#include "util/files.h"
#include "util/process.h"

namespace fs = std::filesystem;

namespace kh::it {
namespace {

// bisect_fixture_repo.sh makes (or finds) it and prints its path.
fs::path fixture_repo() {
  Command c;
  c.argv = {(fs::path(KH_TEST_DATA).parent_path() / "integration/bisect_fixture_repo.sh").string()};
  ProcessResult r = RealProcessRunner().run(c);
  if (!r.ok()) throw std::runtime_error("bisect_fixture_repo.sh failed: " + r.output);
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return fs::path(out.substr(out.rfind('\n') + 1));
}

const std::vector<std::string> kTest = {"--workload", "dying-cgroup",
                                        "--param",    "pin=kmem",
                                        "--param",    "cgroup=v1",
                                        "--param",    "iterations=50",
                                        "--param",    "settle_seconds=3",
                                        "--assert",   "dying_settled <= 0.1 * iterations",
                                        "--tries",    "1",
                                        "--arch",     "x86_64",
                                        "--quiet"};

class BisectIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = std::make_unique<fs::path>(fixture_repo());
    out_ = std::make_unique<ScopedTempDir>("kharness-it-bisect");
    std::vector<std::string> args = {"bisect", "--tree", repo_->string(),
                                     "--good", "base",   "--bad",
                                     "top",    "--out",  (out_->path() / "bisect").string()};
    args.insert(args.end(), kTest.begin(), kTest.end());
    bisect_ = std::make_unique<CliResult>(run_kharness(args));
    std::vector<std::string> sargs = {
        "bisect",   "--tree",          repo_->string(),
        "--series", "selftest-bisect", "--base",
        "base",     "--out",           (out_->path() / "series").string()};
    sargs.insert(sargs.end(), kTest.begin(), kTest.end());
    series_ = std::make_unique<CliResult>(run_kharness(sargs));
  }
  static void TearDownTestSuite() {
    bisect_.reset();
    series_.reset();
    out_.reset();
  }
  static nlohmann::json log(const std::string& which) {
    return read_json(out_->path() / which / "bisect.json");
  }
  static nlohmann::json step_with_subject(const nlohmann::json& log, const std::string& subject) {
    for (const auto& s : log["steps"])
      if (s["subject"] == subject) return s;
    return nullptr;
  }
  static inline std::unique_ptr<fs::path> repo_;
  static inline std::unique_ptr<ScopedTempDir> out_;
  static inline std::unique_ptr<CliResult> bisect_, series_;
};

const char* const kLeak = "mm: memcontrol: pin the css across writeback offlining";
const char* const kBreaker = "mm: memcontrol: factor out memcg_reset_protection()";
const char* const kDocsOnly = "docs: cgroup-v2: fix a doubled phrase about dying cgroups";
const char* const kFix = "mm: memcontrol: fix the call to memcg_reset_protection()";

TEST_F(BisectIntegration, NamesTheLeakingCommit) {
  ASSERT_EQ(bisect_->exit_code, 0) << bisect_->output;
  auto j = log("bisect");
  ASSERT_EQ(j["first_bad"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["first_bad"][0]["subject"], kLeak);
  EXPECT_NE(line_with(bisect_->output, "first bad commit:").find(kLeak), std::string::npos)
      << bisect_->output;
  // The ends were checked, with the metric that decides.
  EXPECT_EQ(j["steps"][0]["role"], "good end");
  EXPECT_EQ(j["steps"][0]["verdict"], "good");
  EXPECT_LE(j["steps"][0]["tries"][0]["metrics"]["dying_settled"].get<double>(), 5);
  EXPECT_EQ(j["steps"][1]["role"], "bad end");
  EXPECT_EQ(j["steps"][1]["verdict"], "bad");
  EXPECT_GE(j["steps"][1]["tries"][0]["metrics"]["dying_settled"].get<double>(), 45);
}

TEST_F(BisectIntegration, TheBuildBreakerIsSkippedNotBlamed) {
  auto j = log("bisect");
  auto breaker = step_with_subject(j, kBreaker);
  ASSERT_FALSE(breaker.is_null()) << "the search never met the build breaker: " << j.dump(2);
  EXPECT_EQ(breaker["build"]["ok"], false);
  EXPECT_EQ(breaker["verdict"], "skip");
  EXPECT_NE(breaker["why"].get<std::string>().find("memcg_reset_protections"), std::string::npos)
      << breaker["why"];
  EXPECT_EQ(breaker["tries"].size(), 0u);
  for (const auto& c : j["first_bad"]) EXPECT_NE(c["subject"], kBreaker);
}

TEST_F(BisectIntegration, ADocsOnlyCommitReusesItsParentsVerdict) {
  auto j = log("bisect");
  auto docs = step_with_subject(j, kDocsOnly);
  auto fix = step_with_subject(j, kFix);
  ASSERT_FALSE(docs.is_null()) << j.dump(2);
  ASSERT_FALSE(fix.is_null()) << j.dump(2);
  // Reproducible builds: the same sources give the same image, bit for bit.
  EXPECT_EQ(docs["build"]["kernel_hash"], fix["build"]["kernel_hash"]);
  EXPECT_EQ(docs["reused_from"], fix["commit"]);
  EXPECT_EQ(docs["tries"].size(), 0u);
  EXPECT_EQ(docs["verdict"], "good");
}

TEST_F(BisectIntegration, AtMostFourBuildsBeyondTheEnds) {
  auto j = log("bisect");
  int steps = 0;
  for (const auto& s : j["steps"])
    if (s["role"] == "bisect") ++steps;
  EXPECT_LE(steps, 4) << j.dump(2);
  EXPECT_EQ(j["candidates"], 9);
  std::string text = read_file(out_->path() / "bisect/bisect.log");
  EXPECT_NE(text.find("first bad commit:"), std::string::npos) << text;
}

TEST_F(BisectIntegration, SeriesModeNamesTheSamePatch) {
  ASSERT_EQ(series_->exit_code, 0) << series_->output;
  auto j = log("series");
  ASSERT_TRUE(j.contains("verdict_changed_at")) << j.dump(2);
  EXPECT_EQ(j["verdict_changed_at"]["subject"], kLeak);
  EXPECT_EQ(j["verdict_changed_at"]["patch"],
            "0007-mm-memcontrol-pin-the-css-across-writeback-offlining.patch");
  ASSERT_EQ(j["steps"].size(), 10u);  // the base and nine patches
  auto breaker = step_with_subject(j, kBreaker);
  EXPECT_EQ(breaker["verdict"], "skip");
  EXPECT_EQ(breaker["build"]["ok"], false);
  EXPECT_FALSE(j.contains("splat_at")) << "the leak is silent: no kernel report";
}

}  // namespace
}  // namespace kh::it

namespace kh::it {
namespace {

// Under `git bisect run`, in the fixture repository's own checkout (it is
// the test's, and a checkout there changes a few files where a worktree of
// its own would write 75,000): git drives, bisect-step answers. The kernels
// are mostly in the artifact cache by now (the suite's bisect and series
// check built them), so this costs guest runs and one failed build.
TEST_F(BisectIntegration, GitBisectRunWithBisectStepNamesTheLeak) {
  ScopedTempDir tmp("kharness-it-gitbisect");
  const fs::path& repo = *repo_;
  auto git_in = [&](std::vector<std::string> args) {
    Command c;
    c.argv = {"git", "-C", repo.string()};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.timeout = std::chrono::minutes(30);
    return RealProcessRunner().run(c);
  };
  git_in({"bisect", "reset", "--quiet"});  // a run that died half way
  ASSERT_TRUE(git_in({"bisect", "start", "top", "base"}).ok());
  std::vector<std::string> run = {"bisect",      "run",   KHARNESS_BINARY,
                                  "bisect-step", "--out", (tmp.path() / "step").string()};
  run.insert(run.end(), kTest.begin(), kTest.end());
  ProcessResult r = git_in(run);
  std::string log = git_in({"bisect", "log"}).output;
  git_in({"bisect", "reset", "--quiet"});
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("is the first bad commit"), std::string::npos) << r.output;
  EXPECT_NE(line_with(r.output, "is the first bad commit")
                .find(git_in({"rev-parse", "top~2"}).output.substr(0, 40)),
            std::string::npos)
      << r.output;
  // If git met the build breaker, bisect-step said skip (125), not bad.
  if (log.find("factor out memcg_reset_protection()") != std::string::npos) {
    EXPECT_NE(line_with(log, "factor out memcg_reset_protection()").find("skip"), std::string::npos)
        << log;
  }
}

// bisect-step's exit codes when it cannot test at all: never 2, 3 or 130,
// which `git bisect run` would take as "bad" or as a reason to abort.
TEST(BisectStepExitCodes, EverythingThatIsNotAVerdictIs125) {
  EXPECT_EQ(run_kharness({"bisect-step", "--no-such-option"}).exit_code, 125);
  EXPECT_EQ(run_kharness({"bisect-step", "--tries", "0", "-w", "dying-cgroup"}).exit_code, 125);
  ScopedTempDir tmp("kharness-it-step");
  auto not_git = run_kharness({"bisect-step", "--tree", tmp.path().string(), "-w", "dying-cgroup"});
  EXPECT_EQ(not_git.exit_code, 125) << not_git.output;
  EXPECT_NE(not_git.output.find("not a git work tree"), std::string::npos) << not_git.output;
  // The same error from `kharness bisect` is a usage error.
  auto bisect = run_kharness(
      {"bisect", "--tree", tmp.path().string(), "-w", "dying-cgroup", "--good", "a", "--bad", "b"});
  EXPECT_EQ(bisect.exit_code, 2) << bisect.output;
}

}  // namespace
}  // namespace kh::it
