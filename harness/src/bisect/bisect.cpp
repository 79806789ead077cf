#include "bisect/bisect.h"

#include <fmt/format.h>

#include <chrono>
#include <set>

#include "bisect/search.h"
#include "util/error.h"

namespace kh {

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}

std::string describe(const Commit& c) {
  std::string s = fmt::format("{} {}", short_sha(c.sha), c.subject);
  if (!c.label.empty()) s += fmt::format(" [{}]", c.label);
  return s;
}

std::string describe(const TryPolicy& p) {
  if (p.mode == TryMode::fixed) return std::to_string(p.tries);
  return fmt::format("auto (until confidence {:g}, at most {})", p.confidence, p.max_tries);
}

TryRates rates_from(const std::vector<StepRecord>& steps) {
  std::vector<JudgedTries> judged;
  for (const auto& s : steps)
    if (s.reused_from.empty()) judged.push_back({s.judgement.verdict, &s.tries});
  return estimate_rates(judged);
}

namespace {

// The tries of one step by the policy, and their judgement.
void run_tries(const Commit& commit, int number, StepTester& tester, const TryPolicy& policy,
               const TryRates& rates, StepRecord& rec) {
  if (policy.mode == TryMode::fixed) {
    rec.tries = tester.run(commit, rec.build, number, 0, policy.tries);
    rec.judgement = judge_tries(rec.tries);
    rec.judgement.confidence = step_confidence(rec.tries, rec.judgement.verdict, rates);
    return;
  }
  // A small tolerance: the confidence of one clear try after clean ends is
  // the target itself, up to rounding.
  constexpr double kSlack = 1e-9;
  while (static_cast<int>(rec.tries.size()) < policy.max_tries) {
    auto more = tester.run(commit, rec.build, number, static_cast<int>(rec.tries.size()), 1);
    if (more.empty()) break;
    rec.tries.insert(rec.tries.end(), more.begin(), more.end());
    rec.judgement = judge_tries(rec.tries);
    rec.judgement.confidence = step_confidence(rec.tries, rec.judgement.verdict, rates);
    if (rec.judgement.verdict != StepVerdict::skip &&
        rec.judgement.confidence >= policy.confidence - kSlack)
      return;
  }
  if (rec.judgement.verdict != StepVerdict::skip)
    rec.judgement = {
        StepVerdict::skip,
        fmt::format("unsure after {} tries: {} only with confidence {:.3f} (< {:g}): {}",
                    rec.tries.size(), to_string(rec.judgement.verdict), rec.judgement.confidence,
                    policy.confidence, rec.judgement.why)};
}

}  // namespace

StepRecord test_commit(const Commit& commit, const std::string& role, int number,
                       StepTester& tester, std::map<std::string, StepRecord>& seen,
                       const TryPolicy& policy, const TryRates& rates) {
  auto start = std::chrono::steady_clock::now();
  StepRecord rec;
  rec.number = number;
  rec.role = role;
  rec.commit = commit;
  rec.build = tester.build(commit);
  if (!rec.build.ok) {
    rec.judgement = {StepVerdict::skip, "build failed: " + rec.build.error};
  } else if (auto it = seen.find(rec.build.hash); it != seen.end()) {
    rec.reused_from = it->second.commit.sha;
    rec.judgement = {
        it->second.judgement.verdict,
        fmt::format("same kernel as {} (image {}): {}", short_sha(it->second.commit.sha),
                    rec.build.hash.substr(0, 12), it->second.judgement.why),
        it->second.judgement.confidence};
  } else {
    run_tries(commit, number, tester, policy, rates, rec);
    seen.emplace(rec.build.hash, rec);
  }
  rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rec;
}

namespace {

void require_end(const StepRecord& rec, const char* flag, StepVerdict expected,
                 BisectSummary& report, const SummarySink& sink) {
  if (rec.judgement.verdict == expected) return;
  report.conclusion =
      fmt::format("{} {} is {}, not {}: {}", flag, describe(rec.commit),
                  to_string(rec.judgement.verdict), to_string(expected), rec.judgement.why);
  report.finished = true;
  sink(report);
  throw InputError(report.conclusion);
}

}  // namespace

BisectSummary run_bisect(const Commit& good, const std::vector<Commit>& between, StepTester& tester,
                        const SummarySink& sink, const TryPolicy& policy) {
  if (between.empty()) throw InputError("--good and --bad are the same commit");
  BisectSummary report;
  report.mode = "bisect";
  report.good = good;
  report.bad = between.back();
  report.candidates = between.size();
  report.tries = policy;
  std::map<std::string, StepRecord> seen;
  int number = 0;
  auto test = [&](const Commit& c, const char* role) {
    return test_commit(c, role, ++number, tester, seen, policy, rates_from(report.steps));
  };
  auto add = [&](StepRecord rec) {
    report.steps.push_back(std::move(rec));
    sink(report);
    return report.steps.back();
  };

  // The ends first: a bisect whose ends are not what the user says names
  // a random commit.
  require_end(add(test(good, "good end")), "--good", StepVerdict::good, report, sink);
  require_end(add(test(report.bad, "bad end")), "--bad", StepVerdict::bad, report, sink);

  BisectSearch search(between.size());
  while (auto i = search.next()) {
    StepRecord rec = add(test(between[*i], "bisect"));
    search.record(*i, rec.judgement.verdict);
  }
  for (std::size_t i : search.first_bad()) report.first_bad.push_back(between[i]);
  int builds = 0, runs = 0;
  report.confidence = 1;
  for (const auto& s : report.steps) {
    if (s.role == "bisect") ++builds;
    runs += static_cast<int>(s.tries.size());
    if (s.reused_from.empty() && s.judgement.verdict != StepVerdict::skip)
      report.confidence *= s.judgement.confidence;
  }
  if (report.first_bad.size() == 1) {
    report.conclusion = fmt::format(
        "first bad commit: {} ({} steps beyond the two ends, {} runs; confidence {:.3f})",
        describe(report.first_bad.front()), builds, runs, report.confidence);
  } else {
    std::string list;
    for (const auto& c : report.first_bad) list += (list.empty() ? "" : ", ") + short_sha(c.sha);
    report.conclusion =
        fmt::format("skipped commits hide the first bad commit: it is one of {} ({})",
                    report.first_bad.size(), list);
  }
  report.finished = true;
  sink(report);
  return report;
}

BisectSummary run_series_check(const Commit& base, const std::vector<Commit>& patches,
                              StepTester& tester, const SummarySink& sink, const TryPolicy& policy) {
  BisectSummary report;
  report.mode = "series";
  report.good = base;
  if (!patches.empty()) report.bad = patches.back();
  report.candidates = patches.size();
  report.tries = policy;
  std::map<std::string, StepRecord> seen;
  int number = 0;
  report.steps.push_back(
      test_commit(base, "base", ++number, tester, seen, policy, rates_from(report.steps)));
  sink(report);
  const StepRecord base_rec = report.steps.back();
  if (base_rec.judgement.verdict == StepVerdict::skip)
    throw InputError(
        fmt::format("--base {} cannot be tested: {}", describe(base), base_rec.judgement.why));
  std::set<std::string> base_titles;
  for (const auto& t : base_rec.tries)
    base_titles.insert(t.crash_titles.begin(), t.crash_titles.end());

  for (const auto& patch : patches) {
    report.steps.push_back(
        test_commit(patch, "patch", ++number, tester, seen, policy, rates_from(report.steps)));
    const StepRecord& rec = report.steps.back();
    if (!report.verdict_changed_at && rec.judgement.verdict != StepVerdict::skip &&
        rec.judgement.verdict != base_rec.judgement.verdict)
      report.verdict_changed_at = patch;
    if (!report.splat_at)
      for (const auto& t : rec.tries)
        for (const auto& title : t.crash_titles)
          if (!base_titles.count(title) && !report.splat_at) {
            report.splat_at = patch;
            report.splat_title = title;
          }
    sink(report);
  }
  std::vector<std::string> parts;
  if (report.verdict_changed_at)
    parts.push_back(fmt::format("verdict changes ({} -> {}) at {}",
                                to_string(base_rec.judgement.verdict),
                                base_rec.judgement.verdict == StepVerdict::good ? "bad" : "good",
                                describe(*report.verdict_changed_at)));
  else
    parts.push_back(fmt::format("no patch changes the verdict (base: {})",
                                to_string(base_rec.judgement.verdict)));
  if (report.splat_at)
    parts.push_back(fmt::format("first kernel report '{}' at {}", report.splat_title,
                                describe(*report.splat_at)));
  int skipped = 0;
  for (const auto& s : report.steps)
    if (s.judgement.verdict == StepVerdict::skip) ++skipped;
  if (skipped)
    parts.push_back(fmt::format("{} patch{} skipped", skipped, skipped == 1 ? "" : "es"));
  for (const auto& p : parts) report.conclusion += (report.conclusion.empty() ? "" : "; ") + p;
  report.finished = true;
  sink(report);
  return report;
}

}  // namespace kh
