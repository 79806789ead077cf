// The real StepTester: builds a commit with KernelBuilder in incremental mode
// (one persistent worktree and build folder per repository) and runs the
// job's workload tries on it with the Executor, like `kharness run`.
#pragma once

#include <filesystem>
#include <string>

#include "bisect/bisect.h"
#include "core/job.h"
#include "core/plan.h"
#include "engine/executor.h"

namespace kh {

// What every step builds and runs. `job` has one kernel, whose source is
// replaced by (repo, commit) at each step; its first arch; its workloads
// (narrowed by filters) run `job.repeats` times: the tries.
struct StepSetup {
  Job job;
  PlanFilters filters;
  std::filesystem::path repo;
  std::filesystem::path out_dir;  // steps go to <out_dir>/steps/<NN>-<sha>/
  int vm_jobs = 1;
};

class KernelStepTester : public StepTester {
 public:
  // The builder must be in TreeMode::persistent_worktree.
  KernelStepTester(KernelBuilder& builder, Executor& executor, Paths paths, StepSetup setup);

  KernelBuild build(const Commit& commit) override;
  // Tries from `first` go to steps/<NN>-<sha>/ (first == 0) or
  // steps/<NN>-<sha>/try<first+1>/ (more tries of the same step).
  std::vector<TryResult> run(const Commit& commit, const KernelBuild& kernel, int step, int first,
                             int count) override;

  // VMs at once for a step's tries.
  void set_vm_jobs(int n) { setup_.vm_jobs = n; }

  // The plan of a commit (throws InputError for a bad --workload/--param).
  std::vector<PlannedRun> plan_for(const Job& job) const;
  Job job_for(const Commit& commit) const;

 private:
  KernelBuilder& builder_;
  Executor& executor_;
  Paths paths_;
  StepSetup setup_;
};

}  // namespace kh
