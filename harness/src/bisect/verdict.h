// The verdict of one bisect step from its tries, by a stated rule:
//   1. a kernel report (console title, not tolerated) in any try -> bad;
//   2. else the tries that passed or failed vote (infra and skip tries do
//      not): a majority of passes -> good, of failures -> bad;
//   3. no votes, or a tie -> skip.
// A kernel that did not build is skip before any try (bisect.h).
#pragma once

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
};

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
