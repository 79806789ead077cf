// The verdict of one bisect step from its tries, by a stated rule:
//   1. a kernel report (console title, not tolerated) in any try -> bad;
//   2. else the tries that passed or failed vote (infra and skip tries do
//      not): a majority of passes -> good, of failures -> bad;
//   3. no votes, or a tie -> skip.
// A kernel that did not build is skip before any try (bisect.h).
//
// How sure a verdict is (step_confidence): a two-rate model of the tries.
// A try fails (an assertion, or a kernel report) with probability
// fail_if_bad on a bad kernel and fail_if_good on a good one (flakiness);
// with even odds before the step, the confidence of "bad" after f failing
// and s passing tries is
//   fail_if_bad^f (1 - fail_if_bad)^s
//   / (fail_if_bad^f (1 - fail_if_bad)^s + fail_if_good^f (1 - fail_if_good)^s)
// and that of "good" its complement. infra and skip tries carry nothing.
// The rates are estimated from the steps judged so far (estimate_rates):
// Beta priors with means 0.9 and 0.1 and a weight of two tries, updated by
// the tries of the steps judged bad and good (the two ends first), so the
// flakiness a bisect has seen makes its later steps ask for more tries.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.h"
#include "core/run_result.h"

namespace kh {

enum class StepVerdict { good, bad, skip };

std::string_view to_string(StepVerdict v);

// What bisect keeps of one try (one RunResult).
struct TryResult {
  Outcome outcome = Outcome::infra;
  std::string reason;                     // the run's one-line reason
  std::vector<std::string> crash_titles;  // console reports not tolerated
  Metrics metrics;                        // the workload's metrics
  std::string run_dir;                    // the try's folder, relative to the step's
};

TryResult try_from_run(const RunResult& run);

struct Judgement {
  StepVerdict verdict = StepVerdict::skip;
  std::string why;  // one line: "crash in try 2: WARNING in foo", "2 of 3 tries pass", ...
  // How likely the verdict is right (see above); NaN for skip.
  double confidence = std::numeric_limits<double>::quiet_NaN();
};

// The chance that one try fails on a good kernel and on a bad one.
struct TryRates {
  double fail_if_good = 0.1;  // the priors' means, before any step
  double fail_if_bad = 0.9;
};

// A step already judged: its verdict and tries, for estimate_rates.
struct JudgedTries {
  StepVerdict verdict;
  const std::vector<TryResult>* tries;
};

// The rates after the judged steps: (failing tries + 0.2) / (tries + 2) of
// the good steps, (failing tries + 1.8) / (tries + 2) of the bad ones
// (infra and skip tries left out; skip steps carry nothing).
TryRates estimate_rates(const std::vector<JudgedTries>& judged);

// The model's probability that `verdict` is right after `tries`; NaN for
// skip.
double step_confidence(const std::vector<TryResult>& tries, StepVerdict verdict,
                       const TryRates& rates);

Judgement judge_tries(const std::vector<TryResult>& tries);

// `git bisect run` reads a step's exit code: 0 good, 1 bad (1..127 but
// 125), 125 skip; 128 and above abort the whole bisect. bisect-step exits
// only with 0, 1 or 125.
int git_bisect_exit_code(StepVerdict v);
// For any other ending of bisect-step, by kharness's own exit code: 0 and 1
// stay, everything else (2 bad usage, 3 infra, 130 Ctrl-C, an internal
// error, a signal) is 125: it says nothing about the commit.
int git_bisect_exit_code_for(int kharness_exit);

// The rule above, one line, for the log and --help.
extern const char* const kVerdictRule;

}  // namespace kh
