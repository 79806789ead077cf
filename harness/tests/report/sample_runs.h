// RunResults for the report tests: one of every outcome.
#pragma once

#include <vector>

#include "core/run_result.h"

namespace kh::test {

inline RunResult sample_run(Outcome outcome, int repeat = 0) {
  RunResult r;
  r.kernel = {"baseline", "6.1.192", "3f2a9c", "kernel-patches/dying-memcg-v2",
              "/usr/src/linux-source-6.1.tar.xz"};
  r.arch = "x86_64";
  r.workload = "dying-cgroup";
  r.workload_name = "dying-cgroup";
  r.repeat = repeat;
  r.params = {{"iterations", "500"}, {"pin", "pagecache"}};
  r.outcome = outcome;
  r.accel = "tcg";
  r.accel_note = "kvm hung before the agent; fell back to tcg";
  r.timings = {{"build", 1.5}, {"boot", 3.25}, {"workload", 12.0}, {"total", 16.75}};
  r.metrics = {{"settled.nr_dying_descendants", 211}, {"loop_seconds", 2.31}};
  r.run_dir = "baseline/x86_64/dying-cgroup/" + std::to_string(repeat);
  switch (outcome) {
    case Outcome::pass:
      r.assertions = {{"settled.nr_dying_descendants <= 300", 1, true, ""}};
      break;
    case Outcome::fail:
      r.reason = "assertion failed: settled.nr_dying_descendants == 0";
      r.assertions = {{"settled.nr_dying_descendants == 0", 0, false, ""},
                      {"settled.nr_dying <= 1", 0, false, "unknown name 'settled.nr_dying'"},
                      {"after.tainted == 0", 1, true, ""}};
      r.console = {{"WARNING", "WARNING in iterate_mm_list", 152, false, false,
                    "------------[ cut here ]------------\n"
                    "WARNING: CPU: 1 PID: 57 at mm/vmscan.c:3493 iterate_mm_list+0x2c5/0x300\n"
                    "---[ end trace 0000000000000000 ]---\n"},
                   {"lockdep", "lockdep: possible recursive locking detected", 190, true, true,
                    "WARNING: possible recursive locking detected\n"}};
      break;
    case Outcome::infra:
      r.reason = "boot timed out after 120 s";
      r.metrics.clear();
      break;
    case Outcome::skip:
      r.reason = "kernel build failed";
      r.accel.clear();
      r.accel_note.clear();
      r.metrics.clear();
      break;
  }
  return r;
}

inline std::vector<RunResult> sample_runs() {
  return {sample_run(Outcome::pass, 0), sample_run(Outcome::fail, 1), sample_run(Outcome::infra, 2),
          sample_run(Outcome::skip, 3)};
}

}  // namespace kh::test
