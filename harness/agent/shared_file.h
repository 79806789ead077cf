// shared_file.h — pure helpers of the shared-file workload: the counters it
// reads around each job (/proc/vmstat rows, a disk's /sys/block/<dev>/stat)
// and the summary of the jobs that the host asserts on.
//
// Header-only and free of syscalls, so the host's unit tests include it
// (tests/agent/shared_file_test.cpp) and the agent builds it for every
// guest arch.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace kh::shared_file {

// The number after `key` in "key value\n" text (/proc/vmstat, memory.stat).
// Nothing when the row is absent or its value is not a whole number.
inline std::optional<double> row_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.size() <= key.size() || !line.starts_with(key) || line[key.size()] != ' ') continue;
    line.remove_prefix(key.size() + 1);
    long long v = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc{} || (end != line.data() + line.size() && *end != ' ')) return std::nullopt;
    return static_cast<double>(v);
  }
  return std::nullopt;
}

// Sectors read (512 bytes each, whatever the disk's block size) from a
// /sys/block/<dev>/stat line: the third of its whitespace-separated fields
// (Documentation/block/stat.rst). Nothing when the line is shorter.
inline std::optional<double> sectors_read(std::string_view stat) {
  int field = 0;
  std::size_t i = 0;
  while (i < stat.size()) {
    while (i < stat.size() && (stat[i] == ' ' || stat[i] == '\t' || stat[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < stat.size() && stat[i] != ' ' && stat[i] != '\t' && stat[i] != '\n') ++i;
    if (start == i) break;
    if (++field == 3) {
      unsigned long long v = 0;
      const auto [end, ec] = std::from_chars(stat.data() + start, stat.data() + i, v);
      if (ec != std::errc{} || end != stat.data() + i) return std::nullopt;
      return static_cast<double>(v);
    }
  }
  return std::nullopt;
}

// What one job cost: counter deltas over the job.
struct Job {
  double read_kb = 0;   // read from the scratch disk
  double majfault = 0;  // major faults (pages that were not in the cache)
  double refault = 0;   // workingset_refault_file: evicted pages read again
};

// The jobs after the first, summed: the first job reads the files from
// disk on every kernel; what the later ones read again is the cost of
// losing the cache between jobs.
struct Summary {
  double later_read_kb = 0;
  double later_majfault = 0;
  double later_refault = 0;
  // Later jobs that read at least half of the file set again.
  double later_jobs_reread = 0;
};

inline Summary summarize(const std::vector<Job>& jobs, double set_kb) {
  Summary s;
  for (std::size_t j = 1; j < jobs.size(); ++j) {
    s.later_read_kb += jobs[j].read_kb;
    s.later_majfault += jobs[j].majfault;
    s.later_refault += jobs[j].refault;
    if (jobs[j].read_kb >= 0.5 * set_kb) s.later_jobs_reread += 1;
  }
  return s;
}

}  // namespace kh::shared_file
