#include "bisect/kernel_tester.h"

#include <fmt/format.h>

#include "core/arch.h"
#include "core/workload.h"
#include "util/error.h"
#include "util/hash.h"

namespace fs = std::filesystem;

namespace kh {

KernelStepTester::KernelStepTester(KernelBuilder& builder, Executor& executor, Paths paths,
                                   StepSetup setup)
    : builder_(builder), executor_(executor), paths_(std::move(paths)), setup_(std::move(setup)) {}

Job KernelStepTester::job_for(const Commit& commit) const {
  Job job = setup_.job;
  KernelSpec& k = job.kernels.front();
  k.source.kind = SourceSpec::Kind::git;
  k.source.path = setup_.repo;
  k.source.ref = commit.sha;
  return job;
}

std::vector<PlannedRun> KernelStepTester::plan_for(const Job& job) const {
  auto plan = make_plan(job, setup_.filters, [&](const std::string& name) {
    return load_workload(paths_.workloads_root(), name);
  });
  resolve_file_params(plan, job.base_dir, paths_.root);
  if (plan.empty()) throw InputError("bisect: the workload selection leaves nothing to run");
  return plan;
}

KernelBuild KernelStepTester::build(const Commit& commit) {
  Job job = job_for(commit);
  auto plan = plan_for(job);
  KernelBuild b;
  try {
    Artifact a = builder_.build(job.kernels.front(), *plan.front().arch, job.base_dir,
                                job.timeouts.build, plan.front().workload_config);
    b.ok = true;
    b.hash = Hasher().feed_file(a.image).hex();
    b.release = a.release;
    b.artifact_key = a.key;
    b.seconds = a.from_cache ? 0 : a.build_seconds;
    b.from_cache = a.from_cache;
  } catch (const InfraError& e) {
    b.error = e.what();  // make failed: the commit does not build
  } catch (const InputError& e) {
    b.error = e.what();  // e.g. config symbols this commit's Kconfig lost
  }
  return b;
}

std::vector<TryResult> KernelStepTester::run(const Commit& commit, const KernelBuild&, int step,
                                             int first, int count) {
  Job job = job_for(commit);
  job.repeats = count;
  auto plan = plan_for(job);
  fs::path steps = setup_.out_dir / "steps";
  fs::path dir = steps / fmt::format("{:02d}-{}", step, short_sha(commit.sha));
  if (first > 0) dir /= fmt::format("try{}", first + 1);
  ExecutorOptions opts{dir, setup_.vm_jobs};
  auto results = executor_.execute(job, plan, opts);
  std::vector<TryResult> tries;
  for (const auto& r : results) {
    TryResult t = try_from_run(r);
    t.run_dir = (fs::relative(dir, steps) / r.run_dir).string();
    tries.push_back(std::move(t));
  }
  return tries;
}

}  // namespace kh
