// Console parser: a pure function from console bytes to findings.
// Tested against golden logs in tests/data/console/ (real 6.1 consoles of
// x86_64 and arm64, recorded with configs/jobs/console-goldens.yaml).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/run_result.h"

namespace kh {

struct ConsoleFindings {
  std::vector<ConsoleFinding> findings;  // in console order, one per title
  bool panicked = false;                 // "Kernel panic - not syncing"
  bool booted = false;                   // the kernel printed its banner ("Linux version")
};

// Never throws. Timestamps ("[    1.234567] ", with or without a caller id)
// and "\r" are ignored; `line` is 1-based, the line that opened the finding.
//
// Titles carry no addresses, offsets, line numbers, pids or task names, and
// name the same thing on x86_64 and arm64, so the same bug gets the same
// title in every run and on both arches:
//   WARNING in F                     "WARNING: CPU: 0 PID: 1 at file.c:12 F+0x1/0x2"
//   kernel BUG in F                  "kernel BUG at file.c:12!" + RIP / pc
//   BUG: kernel NULL pointer dereference in F   x86 "BUG: kernel NULL pointer
//                                    dereference, address: ...", arm64 "Unable
//                                    to handle kernel NULL pointer dereference ..."
//   BUG: unable to handle page fault in F       x86 "BUG: unable to handle page
//                                    fault for address", arm64 "Unable to handle
//                                    kernel paging request / write to read-only
//                                    memory / execute from non-executable memory"
//   general protection fault in F, invalid opcode in F, Oops in F
//   BUG: <what> (no file:line)       bad page state, scheduling while atomic,
//                                    sleeping function called from invalid context
//   BUG: soft lockup in F            the RIP / pc of the stuck CPU
//   INFO: task hung in F             the first frame that is not the waiting
//   KASAN: <what> in F, KFENCE: <what> in F, UBSAN: <what> in <file>
//   lockdep: possible circular locking dependency detected (and the others)
//   INFO: rcu_sched self-detected stall on CPU (and detected stalls on CPUs/tasks)
//   kernel panic: <message>
//   unexpected reboot                a second "Linux version" banner
// A title seen again (a soft lockup repeats every few seconds) is not a new
// finding.
//
// `excerpt`: the finding as printed, from its "cut here" or "=====" rule
// through its stack dump and end marker, timestamps stripped, at most
// kExcerptLines lines.
// `corrupted`: the log ended inside the finding: within a stack dump, before
// the end marker the finding always prints ("---[ end trace" for WARNING and
// Oops, the "=====" rule for KASAN/KFENCE/UBSAN), or before the stack of a
// finding that always has one (hung task, soft lockup, lockdep).
ConsoleFindings parse_console(std::string_view log);

inline constexpr std::size_t kExcerptLines = 120;

// The title a finding gets from its first line alone, before its RIP or
// stack refine it ("WARNING in F", "BUG: kernel NULL pointer dereference"),
// or "" when `line` (one console line, timestamp and all) opens no finding.
// For live progress while the guest runs; parse_console is the verdict.
std::string finding_start_title(std::string_view line);

}  // namespace kh
