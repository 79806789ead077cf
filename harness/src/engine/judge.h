// Judging a run: whether the built kernel can run it at all, and then its
// outcome and one-line reason from everything it produced. Pure.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/console_findings.h"
#include "analysis/records.h"
#include "core/run_result.h"
#include "core/workload.h"
#include "vm/backend.h"

namespace kh {

// Why the built kernel cannot run `spec` ("the kernel lacks what workload
// 'jbd2' needs: config: 1 symbol lost ..."), or "" when its `config:`
// fragments all survived in `final_config` (the .config text). Such a run
// is skipped with this reason. Symbols in `not_applicable` (the tree does
// not define them: kernel/kconfig.h) are not missing.
std::string missing_workload_config(const WorkloadSpec& spec, const std::string& final_config,
                                    const std::string& arch,
                                    const std::vector<std::string>& not_applicable = {});

// Sets `tolerated` on the findings whose title is in `tolerate` (the
// kernel's tolerate: list): they stay in result.json and do not fail the run.
void mark_tolerated(std::vector<ConsoleFinding>& findings,
                    const std::vector<std::string>& tolerate);

// The taint bits the run added, comparing the first and the last snapshot
// of /proc/sys/kernel/tainted: (before, after), or nullopt when none.
std::optional<std::pair<unsigned long, unsigned long>> taint_appeared(const AgentRecords& records);

// The statistics invariants (analysis/invariants.h) over every snapshot of
// the run, as assertion results to put before the workload's own; none
// when the workload opts out (`invariants_off`). The tolerance's CPU count
// falls back to the workload's machine when a snapshot does not say.
std::vector<AssertionResult> invariant_results(const WorkloadSpec& spec,
                                               const AgentRecords& records);

struct Verdict {
  Outcome outcome;
  std::string reason;
};

// The outcome and its reason. Order: interrupted, console findings not
// marked tolerated (fail, even when a timeout or VM failure followed), a
// taint the run added, VM and host failures and timeouts, what the kernel
// lacks (the agent's "unsupported": skip), agent errors, assertions (an
// assertion over a metric the kernel did not provide: skip, unless another
// one failed). A failed assertion's reason names up to three failed `cases`.
Verdict judge_run(const VmExit& vm, const ConsoleFindings& console, const AgentRecords& records,
                  const std::vector<AssertionResult>& assertions,
                  const std::vector<TestCase>& cases = {});

}  // namespace kh
