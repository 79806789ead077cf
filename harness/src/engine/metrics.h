// A run's metrics, from what the agent sent: each snapshot's, the agent's
// own, each program's (and its KTAP cases), the numeric parameters, then
// the workload's derived metrics. Pure.
#pragma once

#include <string>
#include <vector>

#include "analysis/assertions.h"
#include "analysis/records.h"
#include "core/plan.h"
#include "core/run_result.h"

namespace kh {

// The cases of every KTAP output the agent sent, and metrics for every
// program output: <name>.exit_status/.timed_out/.seconds, and for KTAP
// <name>.pass/.fail/.skip/.xfail plus kselftest.<status> and .total over all.
std::vector<TestCase> program_cases(const AgentRecords& records, Metrics& metrics);

// The metrics of a run: each snapshot's, the agent's own, the programs'
// (program_cases), the numeric parameters, then the workload's derived
// metrics. Derivation errors are returned, not thrown. `cases`, when given,
// receives program_cases' cases (KTAP is parsed once, for both); `missing`,
// when given, the derived metrics the kernel's snapshots could not feed,
// with why.
Metrics collect_metrics(const PlannedRun& run, const AgentRecords& records,
                        std::vector<std::string>& errors, std::vector<TestCase>* cases = nullptr,
                        MissingMetrics* missing = nullptr);

}  // namespace kh
