// kharness build: build (or fetch from the cache) the kernels of a job.
#include <fmt/format.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/job_loading.h"
#include "core/arch.h"
#include "core/paths.h"
#include "core/plan.h"
#include "core/workload.h"
#include "kernel/builder.h"
#include "util/error.h"

namespace kh::cli {
namespace {

struct BuildArgs {
  std::string job;
  std::vector<std::string> arches, kernels;
  bool key_only = false;
  bool incremental = false;
};

int do_build(const BuildArgs& a) {
  Job job = load_job_or_default(a.job);
  Paths paths = Paths::from_environment();
  TerminalStatus status;
  RealProcessRunner runner;
  KernelBuilder builder(runner, status, paths, host_cores());
  if (a.incremental) builder.set_tree_mode(TreeMode::persistent_worktree);
  std::vector<std::string> arches = a.arches.empty() ? job.arches : a.arches;
  // The same kernel `kharness run` would build: with the job's workloads'
  // fragments, so a build here is a cache hit there.
  auto load = [&](const std::string& name) { return load_workload(paths.workloads_root(), name); };
  int built = 0;
  for (const auto& k : job.kernels) {
    if (!a.kernels.empty() &&
        std::find(a.kernels.begin(), a.kernels.end(), k.name) == a.kernels.end())
      continue;
    for (const auto& arch_name : arches) {
      const ArchInfo* arch = find_arch(arch_name);
      if (!arch)
        throw InputError(
            fmt::format("--arch {}: unknown arch (known: {})", arch_name, known_arch_names()));
      const auto workload_config = job_workload_config(job, load, arch_name);
      if (a.key_only) {
        std::cout << fmt::format("{}/{} {}\n", k.name, arch_name,
                                 builder.cache_key(k, *arch, job.base_dir, workload_config));
      } else {
        Artifact art = builder.build(k, *arch, job.base_dir, job.timeouts.build, workload_config);
        std::cout << fmt::format(
            "{}/{} {} {} {}\n", k.name, arch_name, art.release,
            art.from_cache ? "cached" : fmt::format("built in {:.0f} s", art.build_seconds),
            art.image.string());
      }
      ++built;
    }
  }
  if (built == 0) throw InputError("--kernel: the job has no such kernel");
  return 0;
}

}  // namespace

void add_build(CLI::App& app, Action& action) {
  auto args = std::make_shared<BuildArgs>();
  auto* sub =
      app.add_subcommand("build", "Build the kernels of a job (or take them from the cache)");
  sub->footer(R"(Prints one line per kernel and arch: name/arch, release, built or cached,
and the kernel image path. A second build with nothing changed runs no make.

Examples:
  kharness build                       # the default job's kernel
  kharness build my-series.yaml --kernel patched
  kharness build --key                 # print content keys only)");
  sub->add_option("job", args->job, "Job file (YAML); default: the built-in default job")
      ->check(CLI::ExistingFile);
  sub->add_option("--arch", args->arches, "Only these arches (repeatable)");
  sub->add_option("--kernel,-k", args->kernels, "Only these kernels (repeatable)");
  sub->add_flag("--key", args->key_only, "Print the cache key instead of building");
  sub->add_flag("--incremental", args->incremental,
                "Build git kernels in their repository's one persistent worktree and build "
                "folder, as bisect does (only what the ref changes is rebuilt)");
  sub->callback([&action, args] { action = [args] { return do_build(*args); }; });
}

}  // namespace kh::cli
