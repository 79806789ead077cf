#include "bisect/log.h"

#include <fmt/format.h>

#include <cmath>

#include "util/files.h"

namespace kh {
namespace {

nlohmann::json commit_json(const Commit& c) {
  nlohmann::json j = {{"commit", c.sha}, {"subject", c.subject}};
  if (!c.label.empty()) j["patch"] = c.label;
  return j;
}

}  // namespace

nlohmann::json bisect_json(const BisectSummary& report) {
  nlohmann::json j;
  j["schema"] = 1;
  j["mode"] = report.mode;
  j["good"] = commit_json(report.good);
  j["bad"] = commit_json(report.bad);
  j["rule"] = report.rule;
  j["tries"] = report.tries.mode == TryMode::fixed
                   ? nlohmann::json(report.tries.tries)
                   : nlohmann::json({{"mode", "auto"},
                                     {"confidence", report.tries.confidence},
                                     {"max_tries", report.tries.max_tries}});
  if (std::isfinite(report.confidence)) j["confidence"] = report.confidence;
  j["candidates"] = report.candidates;
  j["finished"] = report.finished;
  j["conclusion"] = report.conclusion;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : report.steps) {
    nlohmann::json step = commit_json(s.commit);
    step["step"] = s.number;
    step["role"] = s.role;
    step["seconds"] = s.seconds;
    step["build"] = {{"ok", s.build.ok},
                     {"seconds", s.build.seconds},
                     {"from_cache", s.build.from_cache},
                     {"kernel_hash", s.build.hash},
                     {"release", s.build.release},
                     {"artifact_key", s.build.artifact_key}};
    if (!s.build.ok) step["build"]["error"] = s.build.error;
    nlohmann::json tries = nlohmann::json::array();
    for (const auto& t : s.tries)
      tries.push_back({{"outcome", std::string(to_string(t.outcome))},
                       {"reason", t.reason},
                       {"crash_titles", t.crash_titles},
                       {"metrics", t.metrics},
                       {"run_dir", t.run_dir}});
    step["tries"] = tries;
    step["verdict"] = std::string(to_string(s.judgement.verdict));
    step["why"] = s.judgement.why;
    if (std::isfinite(s.judgement.confidence)) step["confidence"] = s.judgement.confidence;
    if (!s.reused_from.empty()) step["reused_from"] = s.reused_from;
    steps.push_back(std::move(step));
  }
  j["steps"] = steps;
  nlohmann::json first_bad = nlohmann::json::array();
  for (const auto& c : report.first_bad) first_bad.push_back(commit_json(c));
  j["first_bad"] = first_bad;
  if (report.verdict_changed_at) j["verdict_changed_at"] = commit_json(*report.verdict_changed_at);
  if (report.splat_at) {
    j["splat_at"] = commit_json(*report.splat_at);
    j["splat_title"] = report.splat_title;
  }
  return j;
}

std::string bisect_log_text(const BisectSummary& report) {
  std::string out;
  out += fmt::format("# kharness {}: good {}\n#{:>{}} bad {}\n", report.mode, describe(report.good),
                     "", report.mode.size() + 9, describe(report.bad));
  out += fmt::format("# {} commit{} after the good end; tries per step: {}; rule: {}\n",
                     report.candidates, report.candidates == 1 ? "" : "s", describe(report.tries),
                     report.rule);
  out +=
      "# confidence: how likely a verdict is right, from its tries and the failure rates of "
      "the good and bad steps before it (README, Bisect)\n";
  for (const auto& s : report.steps) {
    out += fmt::format("\nstep {} ({}): {}\n", s.number, s.role, describe(s.commit));
    if (!s.build.ok)
      out += fmt::format("  build: FAILED: {}\n", s.build.error);
    else
      out += fmt::format("  build: {}, kernel {} (image sha256 {})\n",
                         s.build.from_cache ? std::string("from the cache")
                                            : fmt::format("built in {:.0f} s", s.build.seconds),
                         s.build.release, s.build.hash.substr(0, 16));
    for (std::size_t i = 0; i < s.tries.size(); ++i) {
      const auto& t = s.tries[i];
      out += fmt::format("  try {}: {}{}{}\n", i + 1, to_string(t.outcome),
                         t.reason.empty() ? "" : ": " + t.reason,
                         t.run_dir.empty() ? "" : fmt::format(" ({})", t.run_dir));
    }
    // A failed build's error is on the build line already.
    std::string confidence = std::isfinite(s.judgement.confidence)
                                 ? fmt::format(", confidence {:.3f}", s.judgement.confidence)
                                 : "";
    out += fmt::format("  verdict: {}{} ({})\n", to_string(s.judgement.verdict), confidence,
                       s.build.ok ? s.judgement.why : "the build failed");
  }
  if (!report.conclusion.empty()) out += fmt::format("\n{}\n", report.conclusion);
  return out;
}

void write_bisect_log(const std::filesystem::path& dir, const BisectSummary& report) {
  ensure_dir(dir);
  write_file(dir / "bisect.json", bisect_json(report).dump(2) + "\n");
  write_file(dir / "bisect.log", bisect_log_text(report));
}

}  // namespace kh
