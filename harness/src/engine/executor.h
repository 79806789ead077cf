// The engine's orchestration: for a plan, build each (kernel, arch) once,
// then for each run write its guest (engine/guest.h), boot it, read what
// the agent and the console said, collect its metrics (engine/metrics.h),
// judge it (engine/judge.h), and write result.json, reproduce.sh and the
// job's files (report/job_files.h). Reports progress to a Status; never
// prints.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/job.h"
#include "core/paths.h"
#include "core/plan.h"
#include "core/run_result.h"
#include "image/guest_image.h"
#include "kernel/builder.h"
#include "vm/backend.h"

namespace kh {

struct ExecutorOptions {
  std::filesystem::path out_dir;  // this job's results folder (made if absent)
  int jobs = 1;                   // VMs at once
};

class Executor {
 public:
  Executor(KernelBuilder& builder, Backend& backend, ProcessRunner& runner, Status& status,
           Paths paths);

  // Runs the plan. Results already written stay on every exit path: on
  // Ctrl-C the current runs are recorded as infra ("interrupted"), the
  // summary is written, and Interrupted is rethrown; an InputError from a
  // build (a series that does not apply, lost config symbols) likewise.
  std::vector<RunResult> execute(const Job& job, const std::vector<PlannedRun>& plan,
                                 const ExecutorOptions& options);

 private:
  // `config_args`: config_boot_args of the artifact's .config, once per kernel.
  RunResult run_one(const PlannedRun& run, const Artifact& artifact, const std::string& config_args,
                    const Job& job, const std::filesystem::path& out_dir);

  KernelBuilder& builder_;
  Backend& backend_;
  ProcessRunner& runner_;
  Status& status_;
  Paths paths_;
  ImageRecipe recipe_;  // images/guest.yaml, read once per job
};

}  // namespace kh
