// Bisect and series check, driven over a StepTester: the kernel side
// (build a commit, run its tries) sits behind that interface, so the search,
// the verdict rule and the identical-kernel reuse are tested with a fake.
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bisect/verdict.h"

namespace kh {

struct Commit {
  std::string sha;
  std::string subject;
  std::string label;  // series mode: the patch file; else empty
};

// One commit's kernel, built (or not).
struct KernelBuild {
  bool ok = false;
  std::string error;  // why it did not build (ok == false)
  std::string hash;   // sha256 of the image: equal hashes, same kernel
  std::string release;
  std::string artifact_key;
  double seconds = 0;  // 0 when the artifact came from the cache
  bool from_cache = false;
};

class StepTester {
 public:
  virtual ~StepTester() = default;
  // Builds the commit's kernel. A build that fails is returned (ok = false),
  // not thrown; Interrupted and fatal errors are thrown.
  virtual KernelBuild build(const Commit& commit) = 0;
  // Runs `count` tries on a built kernel, numbered from `first` (0-based)
  // within the step; a step may call it again for more. `step` numbers the
  // folder.
  virtual std::vector<TryResult> run(const Commit& commit, const KernelBuild& kernel, int step,
                                     int first, int count) = 0;
};

// How many tries a step gets.
enum class TryMode {
  fixed,            // `tries`, then the verdict rule
  until_confident,  // one at a time until the verdict's confidence reaches
                    // `confidence`, at most `max_tries`; still unsure then:
                    // skip (an unsure verdict would mislead the search)
};
struct TryPolicy {
  TryMode mode = TryMode::fixed;
  int tries = 3;
  double confidence = 0.95;
  int max_tries = 10;
};
// "3", "auto (until 0.95, at most 10)": for logs.
std::string describe(const TryPolicy& p);

struct StepRecord {
  int number = 0;    // 1-based, in test order
  std::string role;  // "good end", "bad end", "bisect", "base", "patch"
  Commit commit;
  KernelBuild build;
  std::vector<TryResult> tries;  // empty when not built or reused
  Judgement judgement;
  std::string reused_from;  // sha of the commit whose identical kernel gave the verdict
  double seconds = 0;       // the whole step, build and tries
};

struct BisectSummary {
  std::string mode;  // "bisect" or "series"
  Commit good, bad;  // bisect: the ends; series: good = the base
  std::string rule = kVerdictRule;
  TryPolicy tries;
  std::size_t candidates = 0;  // commits after the good end, up to the bad end
  std::vector<StepRecord> steps;
  // bisect: the first bad commit (one), or the candidates skips leave (more).
  std::vector<Commit> first_bad;
  // series: the first patch whose verdict differs from the base's, and the
  // first whose tries bring a kernel report the base did not have.
  std::optional<Commit> verdict_changed_at;
  std::optional<Commit> splat_at;
  std::string splat_title;
  // bisect: the product of the confidences of the steps that decided (each
  // one tested, not reused): how likely every verdict the answer rests on
  // is right. NaN until finished.
  double confidence = std::numeric_limits<double>::quiet_NaN();
  std::string conclusion;  // one line, as printed at the end
  bool finished = false;
};

// Called after every step and at the end: write the log so far.
using SummarySink = std::function<void(const BisectSummary&)>;

// Builds and tests one commit; a kernel identical (same image hash) to one
// tested before takes that step's verdict without running. `seen` maps
// image hashes to the step that first tested them. `rates` (verdict.h)
// give the verdict's confidence, which TryMode::until_confident tries for.
StepRecord test_commit(const Commit& commit, const std::string& role, int number,
                       StepTester& tester, std::map<std::string, StepRecord>& seen,
                       const TryPolicy& policy = {}, const TryRates& rates = {});

// The rates learnt from the steps so far (estimate_rates over them).
TryRates rates_from(const std::vector<StepRecord>& steps);

// Bisects `between`: the commits after `good` up to and including `bad`,
// oldest first (bad is the last). Tests the bad end, then the good end, and
// throws InputError naming the end when bad is not bad or good is not good.
// Then searches (search.h) and fills first_bad and conclusion.
BisectSummary run_bisect(const Commit& good, const std::vector<Commit>& between, StepTester& tester,
                        const SummarySink& sink, const TryPolicy& policy = {});

// Tests the base and each patch commit after it, in order (ktest's
// patchcheck), and names the first patch that changes the verdict and the
// first that brings a kernel report.
BisectSummary run_series_check(const Commit& base, const std::vector<Commit>& patches,
                              StepTester& tester, const SummarySink& sink,
                              const TryPolicy& policy = {});

std::string short_sha(const std::string& sha);
// "abc123def012 subject" (with the patch label in series mode).
std::string describe(const Commit& c);

}  // namespace kh
