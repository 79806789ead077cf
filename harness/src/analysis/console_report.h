// Console parser: a pure function from console bytes to findings.
// Tested against golden logs in tests/data/console/.
#pragma once

#include <string_view>
#include <vector>

#include "core/run_result.h"

namespace kh {

struct ConsoleReport {
  std::vector<ConsoleFinding> findings;  // in console order
  bool panicked = false;                 // "Kernel panic - not syncing"
  bool booted = false;                   // the kernel printed its banner ("Linux version")
};

// Never throws. Timestamps ("[    1.234567] ", with or without a caller id)
// and "\r" are ignored; `line` is 1-based, the line that opened the report.
// Titles carry no addresses or pids, so the same bug gets the same title in
// every run ("WARNING in iterate_mm_list", "INFO: task hung in
// cgroup_kn_lock_live", "kernel panic: Attempted to kill init!").
// `corrupted`: the log ended inside the report: within a stack dump, before
// the end marker the report always prints ("---[ end trace" for WARNING and
// Oops, the "=====" rule for KASAN), or before the stack of a report that
// always has one (hung task, soft lockup, lockdep).
ConsoleReport parse_console(std::string_view log);

}  // namespace kh
