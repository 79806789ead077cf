#include "bisect/verdict.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace kh {

const char* const kVerdictRule =
    "a kernel report (console title) in any try -> bad; else the tries that passed or failed "
    "vote, infra tries do not: majority pass -> good, majority fail -> bad; no votes or a tie "
    "-> skip; a build failure -> skip";

std::string_view to_string(StepVerdict v) {
  switch (v) {
    case StepVerdict::good:
      return "good";
    case StepVerdict::bad:
      return "bad";
    case StepVerdict::skip:
      return "skip";
  }
  return "?";
}

int git_bisect_exit_code(StepVerdict v) {
  switch (v) {
    case StepVerdict::good:
      return 0;
    case StepVerdict::bad:
      return 1;
    case StepVerdict::skip:
      return 125;
  }
  return 125;
}

int git_bisect_exit_code_for(int kharness_exit) {
  return kharness_exit == 0 || kharness_exit == 1 ? kharness_exit : 125;
}

TryResult try_from_run(const RunResult& run) {
  TryResult t;
  t.outcome = run.outcome;
  t.reason = run.reason;
  for (const auto& f : run.console)
    if (!f.tolerated) t.crash_titles.push_back(f.title);
  t.metrics = run.metrics;
  t.run_dir = run.run_dir;
  return t;
}

Judgement judge_tries(const std::vector<TryResult>& tries) {
  for (std::size_t i = 0; i < tries.size(); ++i)
    if (!tries[i].crash_titles.empty())
      return {StepVerdict::bad,
              fmt::format("kernel report in try {}: {}", i + 1, tries[i].crash_titles.front())};
  int pass = 0, fail = 0, other = 0;
  std::string first_fail, first_other;
  for (const auto& t : tries) {
    if (t.outcome == Outcome::pass) {
      ++pass;
    } else if (t.outcome == Outcome::fail) {
      if (!fail++) first_fail = t.reason;
    } else {
      if (!other++) first_other = fmt::format("{}: {}", to_string(t.outcome), t.reason);
    }
  }
  std::string tally =
      fmt::format("{} pass, {} fail, {} infra/skip of {} tries", pass, fail, other, tries.size());
  if (pass + fail == 0)
    return {StepVerdict::skip, fmt::format("no try gave a verdict ({}){}", tally,
                                           first_other.empty() ? "" : "; first: " + first_other)};
  if (pass > fail) return {StepVerdict::good, tally};
  if (fail > pass)
    return {StepVerdict::bad, fmt::format("{}; first failure: {}", tally, first_fail)};
  return {StepVerdict::skip, fmt::format("tie: {}", tally)};
}

}  // namespace kh

namespace kh {
namespace {

// A try that says "bad": a kernel report, or a failed assertion. nullopt:
// it says nothing (infra, skip).
std::optional<bool> try_says_bad(const TryResult& t) {
  if (!t.crash_titles.empty() || t.outcome == Outcome::fail) return true;
  if (t.outcome == Outcome::pass) return false;
  return std::nullopt;
}

}  // namespace

TryRates estimate_rates(const std::vector<JudgedTries>& judged) {
  double good_fail = 0, good_n = 0, bad_fail = 0, bad_n = 0;
  for (const auto& j : judged) {
    if (j.verdict == StepVerdict::skip || !j.tries) continue;
    for (const auto& t : *j.tries) {
      auto bad = try_says_bad(t);
      if (!bad) continue;
      (j.verdict == StepVerdict::good ? good_n : bad_n) += 1;
      if (*bad) (j.verdict == StepVerdict::good ? good_fail : bad_fail) += 1;
    }
  }
  return {(good_fail + 0.2) / (good_n + 2), (bad_fail + 1.8) / (bad_n + 2)};
}

double step_confidence(const std::vector<TryResult>& tries, StepVerdict verdict,
                       const TryRates& rates) {
  if (verdict == StepVerdict::skip) return std::nan("");
  // In logs: a step of 100 tries must not underflow.
  double log_bad = 0, log_good = 0;
  for (const auto& t : tries) {
    auto bad = try_says_bad(t);
    if (!bad) continue;
    log_bad += std::log(*bad ? rates.fail_if_bad : 1 - rates.fail_if_bad);
    log_good += std::log(*bad ? rates.fail_if_good : 1 - rates.fail_if_good);
  }
  double p_bad = 1 / (1 + std::exp(log_good - log_bad));
  return verdict == StepVerdict::bad ? p_bad : 1 - p_bad;
}

}  // namespace kh
