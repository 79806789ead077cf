// Shared by run and compare: everything between a plan and its results.
// The backend the job or the command line names (qemu, libvirt, or a pool
// of libvirt hosts), the kernel builder, the executor, and the history
// store that gets the results folder whatever ends the job.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/job.h"
#include "core/plan.h"
#include "core/run_result.h"
#include "util/status.h"

namespace kh::cli {

struct JobRunOptions {
  std::filesystem::path out;  // the job's results folder
  int jobs = 0;               // VMs at once; 0: the hosts' slots, else cores / vCPUs
  std::string accel = "auto";
  std::string backend;  // "": the job's backend:, else qemu
  std::string uri;      // "": the job's uri: (or its hosts:)
  std::string history;  // the history store; "": the job's history:, else beside `out`
  bool no_history = false;
};

// The plan of `job` under `filters`, its workloads loaded and their file
// parameters resolved. Throws InputError when the filters leave nothing.
std::vector<PlannedRun> plan_job(const Job& job, const PlanFilters& filters);

// Runs the plan and returns its results. Results already written stay,
// and are in the history, on every exit path (InputError, InfraError,
// Interrupted are rethrown).
std::vector<RunResult> execute_job(const Job& job, const std::vector<PlannedRun>& plan,
                                   const JobRunOptions& options, Status& status);

}  // namespace kh::cli
