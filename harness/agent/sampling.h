// sampling.h — pure helpers for reading what the kernel reports while a
// workload runs: a task's /proc/<pid>/stat, PSI files, /dev/kmsg records,
// and latency percentiles.
//
// Header-only and free of syscalls, so the host's unit tests include it
// (tests/agent/sampling_test.cpp) and the agent builds it for every guest
// arch without a library of its own.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kh::sampling {

// ---- /proc/<pid>/stat ------------------------------------------------------

struct TaskStat {
  long pid = 0;
  std::string comm;  // without the parentheses
  char state = '?';  // R, S, D, Z, T, t, X, I, ...
};

// Parses the start of /proc/<pid>/stat: "<pid> (<comm>) <state> ...". The
// comm is whatever the task named itself (up to 15 bytes) and may hold
// spaces and parentheses ("(sd-pam)", "a) b"), so it runs to the *last*
// ")" of the line, which the kernel always writes right after it. Returns
// nothing for text that does not have that shape.
inline std::optional<TaskStat> parse_task_stat(std::string_view text) {
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  std::string_view pid_text = text.substr(0, open);
  while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
  TaskStat t;
  const auto [ptr, ec] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), t.pid);
  if (ec != std::errc() || ptr != pid_text.data() + pid_text.size() || pid_text.empty() ||
      t.pid <= 0)
    return std::nullopt;
  // ") S 1 ...": a space, then the one-letter state.
  if (close + 2 >= text.size() || text[close + 1] != ' ') return std::nullopt;
  const char state = text[close + 2];
  if (state == ' ' || state == '\n') return std::nullopt;
  t.comm = std::string(text.substr(open + 1, close - open - 1));
  t.state = state;
  return t;
}

// ---- PSI (/proc/pressure/*, <cgroup>/*.pressure) ---------------------------

struct PsiLine {
  bool present = false;
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent of wall time
  std::uint64_t total_us = 0;               // cumulative stall time
};

struct Psi {
  PsiLine some;  // at least one task stalled
  PsiLine full;  // every non-idle task stalled (absent for cpu on old kernels)
};

// Parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and the "full"
// line after it. Unknown keys and lines are skipped; a line whose values
// do not parse is left absent.
inline Psi parse_psi(std::string_view text) {
  Psi psi;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    PsiLine* out = nullptr;
    if (line.starts_with("some ")) out = &psi.some;
    if (line.starts_with("full ")) out = &psi.full;
    if (!out) continue;
    PsiLine parsed;
    int seen = 0;
    line.remove_prefix(5);
    while (!line.empty()) {
      const std::size_t sp = line.find(' ');
      const std::string_view field = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
      const char* end = value.data() + value.size();
      if (key == "total") {
        auto [p, ec] = std::from_chars(value.data(), end, parsed.total_us);
        if (ec != std::errc() || p != end) return psi;
        ++seen;
        continue;
      }
      double* slot = key == "avg10"    ? &parsed.avg10
                     : key == "avg60"  ? &parsed.avg60
                     : key == "avg300" ? &parsed.avg300
                                       : nullptr;
      if (!slot) continue;
      auto [p, ec] = std::from_chars(value.data(), end, *slot);
      if (ec != std::errc() || p != end) return psi;
      ++seen;
    }
    parsed.present = seen == 4;
    if (parsed.present) *out = parsed;
  }
  return psi;
}

// ---- /dev/kmsg -------------------------------------------------------------

// The message of one /dev/kmsg record: "<prio>,<seq>,<usec>,<flags>[,...];<text>\n"
// followed by optional " KEY=value" dictionary lines. Returns the text
// (without the newline), or nothing when the record has no ';' header.
inline std::optional<std::string_view> kmsg_text(std::string_view record) {
  const std::size_t semi = record.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  const std::size_t comma = record.find(',');
  if (comma == std::string_view::npos || comma > semi) return std::nullopt;
  std::string_view text = record.substr(semi + 1);
  return text.substr(0, text.find('\n'));
}

// The hung-task detector's report: "INFO: task <comm>:<pid> blocked for more
// than <N> seconds." (kernel/hung_task.c).
inline bool is_hung_task_report(std::string_view text) {
  return text.starts_with("INFO: task ") &&
         text.find(" blocked for more than ") != std::string_view::npos;
}

// ---- latency statistics ----------------------------------------------------

// The p-th percentile (0 <= p <= 100) by the nearest-rank method: the
// smallest sample such that at least p percent of the samples are <= it,
// i.e. sorted[ceil(p/100 * n) - 1], and the minimum for p = 0. Always one of
// the samples, never an interpolation: "p99 = 840 ms" means a probe really
// took 840 ms. Returns 0 for no samples.
inline double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  std::sort(samples.begin(), samples.end());
  const double n = static_cast<double>(samples.size());
  // The small epsilon keeps 0.99 * 100 = 99.00000000000001 from rounding up.
  double rank = std::ceil(p / 100.0 * n - 1e-9);
  if (rank < 1) rank = 1;
  return samples[static_cast<std::size_t>(rank) - 1];
}

struct LatencySummary {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

inline LatencySummary summarize(const std::vector<double>& samples) {
  LatencySummary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  s.p50 = percentile(samples, 50);
  s.p90 = percentile(samples, 90);
  s.p99 = percentile(samples, 99);
  double sum = 0;
  for (double v : samples) {
    sum += v;
    s.max = std::max(s.max, v);
  }
  s.mean = sum / static_cast<double>(samples.size());
  return s;
}

// How many samples exceed `threshold`.
inline std::size_t count_above(const std::vector<double>& samples, double threshold) {
  return static_cast<std::size_t>(
      std::count_if(samples.begin(), samples.end(), [&](double v) { return v > threshold; }));
}

}  // namespace kh::sampling
