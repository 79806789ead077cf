// A workload's limits (workload.yaml `limits:`) checked against each run's
// parameters and machine before anything boots: what the guest cannot hold
// is the user's input to fix, not a verdict on the kernel.
#pragma once

#include <string>
#include <vector>

#include "core/plan.h"

namespace kh {

// "" when `run` fits every limit of its workload; else one line naming the
// run, the parameters the broken check uses (with their values), the check
// with both sides' values, and why it is a limit:
// "linux-6.1/x86_64/dying-cgroup: iterations=20000 cannot fit the guest:
//  iterations * 4 <= 0.8 * disk_mb * 1024 is 80000 <= 52428.8 (each
//  iteration appends ...; workloads/dying-cgroup/workload.yaml:30:5)".
// Variables: the run's numeric parameters, and disk_mb, memory_mb, cpus.
std::string limit_violation(const PlannedRun& run);

// Throws InputError with the first run's violation (exit 2), if any.
void check_limits(const std::vector<PlannedRun>& plan);

}  // namespace kh
