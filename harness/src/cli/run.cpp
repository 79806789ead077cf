// kharness run: the whole pipeline for a job.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/job_loading.h"
#include "cli/job_runner.h"
#include "util/clock.h"
#include "core/paths.h"
#include "core/plan.h"
#include "history/store.h"
#include "report/summary.h"
#include "util/error.h"
#include "vm/accel.h"
#include "vm/host_pool.h"
#include "vm/libvirt.h"
#include "vm/registry.h"

namespace kh::cli {
namespace {

struct RunArgs {
  std::string job;
  std::string out;
  std::vector<std::string> arches, workloads, kernels, sets;
  int jobs = 0;
  std::string accel = "auto";
  std::string backend;  // "": the job's backend:, else qemu
  std::string uri;
  bool quiet = false;
  std::string history;  // the history store; "" = the job's or the default
  bool no_history = false;
};

int do_run(const RunArgs& a) {
  Job job = load_job_or_default(a.job);
  auto plan = plan_job(job, {a.arches, a.workloads, a.kernels, a.sets});

  std::filesystem::path out = a.out.empty()
                                  ? job.output / fmt::format("{}-{}", job.name, folder_timestamp())
                                  : std::filesystem::path(a.out);
  std::unique_ptr<Status> status;
  if (a.quiet)
    status = std::make_unique<QuietStatus>();
  else
    status = std::make_unique<TerminalStatus>();
  status->info(fmt::format("job {} ({}): {} run(s), results in {}", job.name, job.origin,
                           plan.size(), out.string()));
  JobRunOptions opts{out, a.jobs, a.accel, a.backend, a.uri, a.history, a.no_history};
  auto started = std::chrono::steady_clock::now();
  std::vector<RunResult> results = execute_job(job, plan, opts, *status);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::map<std::string, std::string> keys;
  for (const auto& r : plan) keys[r.ref->id] = r.spec.key_metric;
  std::cout << summary_table(results, keys);
  std::vector<Outcome> outcomes;
  for (const auto& r : results) outcomes.push_back(r.outcome);
  int code = exit_code_for(outcomes);
  std::cout << fmt::format("results: {}\n", std::filesystem::absolute(out).string());
  // What kharness itself cost, beside the builds and the guests (the
  // benchmark, harness/bench.sh, reads this line).
  double build = 0, guests = 0;
  std::map<std::string, double> builds;  // one build per artifact, however many runs use it
  for (const auto& r : results) {
    if (r.timings.count("vm_total")) guests += r.timings.at("vm_total");
    if (r.timings.count("build"))
      builds[r.kernel.artifact_key + r.kernel.name + r.arch] = r.timings.at("build");
  }
  for (const auto& [_, s] : builds) build += s;
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  status->info(fmt::format(
      "kharness: wall {:.1f} s, kernel builds {:.1f} s, guests {:.1f} s, overhead {:.1f} s, "
      "peak RSS {:.1f} MB",
      wall, build, guests, wall - build - guests, static_cast<double>(ru.ru_maxrss) / 1024));
  return code;
}

}  // namespace

void add_run(CLI::App& app, Action& action) {
  auto args = std::make_shared<RunArgs>();
  auto* sub = app.add_subcommand("run", "Build, boot and test: run a job and write its results");
  sub->footer(R"(Runs every kernel x arch x workload x repeat of the job. With no JOB, runs
the default job (configs/jobs/default.yaml, built in): Debian's Linux 6.1
with the dying-memcg reproducer on x86_64.

Each run gets a folder RESULTS/<kernel>/<arch>/<workload>/ with result.json,
console.log, records.jsonl, initramfs.cpio and reproduce.sh; the job folder
gets summary.json, junit.xml, kcidb.json, results.ktap and job.yaml. Every
run is recorded in the history store (default: history.sqlite beside the
job's results folder; see `kharness history`).

Examples:
  kharness run
  kharness run configs/jobs/nightly.yaml --out /tmp/nightly
  kharness run configs/jobs/series.yaml --kernel patched
  kharness run --set dying-cgroup.iterations=500 --workload dying-cgroup
  kharness run my-series.yaml --arch x86_64 --accel tcg

Exit codes: 0 all passed, 1 a run failed, 2 bad usage or input,
3 infrastructure failure (build, boot, host), 130 interrupted.)");
  sub->add_option("job", args->job, "Job file (YAML); default: the built-in default job")
      ->check(CLI::ExistingFile);
  sub->add_option("--out,-o", args->out,
                  "Results folder (default: <job output>/<job>-<timestamp>)");
  sub->add_option("--arch", args->arches, "Only these arches (repeatable)");
  sub->add_option("--workload,-w", args->workloads,
                  "Only these workloads, by id or name (repeatable)");
  sub->add_option("--kernel,-k", args->kernels, "Only these kernels, by name (repeatable)");
  sub->add_option("--set", args->sets,
                  "Override a workload parameter: WORKLOAD.PARAM=VALUE (repeatable)");
  sub->add_option("--jobs,-j", args->jobs, "VMs at once (default: host cores / guest vCPUs)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--accel", args->accel, "auto (KVM if it works here, else TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_option("--backend", args->backend,
                  "VM backend: qemu (default) or libvirt (default: the job's backend:)")
      ->check(CLI::IsMember(backend_names()));
  sub->add_option("--uri", args->uri,
                  "libvirt: run every VM on this host (default: the job's uri:/hosts:, else "
                  "qemu:///system)");
  sub->add_flag("--quiet,-q", args->quiet, "No progress, only the summary table");
  sub->add_option("--history", args->history,
                  "History store to record the runs in (default: the job's history:, else "
                  "history.sqlite beside the results folder)");
  sub->add_flag("--no-history", args->no_history, "Do not record the runs in a history store");
  sub->callback([&action, args] { action = [args] { return do_run(*args); }; });
}

}  // namespace kh::cli
