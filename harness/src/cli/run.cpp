// kharness run: the whole pipeline for a job.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/job_loading.h"
#include "core/executor.h"
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

std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

// Imports the job's results folder into the history store. A history that
// cannot be written costs a warning, never the job's results.
void record_history(const std::filesystem::path& history, const std::filesystem::path& out,
                    Status& status) {
  if (history.empty() || !std::filesystem::is_directory(out)) return;
  try {
    HistoryStore store(history);
    ImportReport rep = import_results(store, {out});
    status.info(fmt::format("history: {} run(s) recorded in {}", rep.added, history.string()));
  } catch (const std::exception& e) {
    status.warn(fmt::format("history {}: not recorded: {}", history.string(), e.what()));
  }
}

int do_run(const RunArgs& a) {
  Job job = load_job_or_default(a.job);
  Paths paths = Paths::from_environment();
  PlanFilters filters{a.arches, a.workloads, a.kernels, a.sets};
  auto plan = make_plan(job, filters, [&](const std::string& name) {
    return load_workload(paths.workloads_root(), name);
  });
  resolve_file_params(plan, job.base_dir, paths.root);
  if (plan.empty())
    throw InputError(fmt::format("{}: the filters leave nothing to run", job.origin));

  std::filesystem::path out = a.out.empty()
                                  ? job.output / fmt::format("{}-{}", job.name, timestamp())
                                  : std::filesystem::path(a.out);
  std::unique_ptr<Status> status;
  if (a.quiet)
    status = std::make_unique<QuietStatus>();
  else
    status = std::make_unique<TerminalStatus>();
  RealProcessRunner runner;
  RealHostProbe probe;
  BackendDeps deps{&runner, &probe, paths.cache, a.accel};
  // The libvirt backend's storage pool on each host is this job's own.
  deps.pool = fmt::format("kharness-{}-{}", job.name, ::getpid());
  std::string backend_name = !a.backend.empty()     ? a.backend
                             : !job.backend.empty() ? job.backend
                                                    : "qemu";
  std::unique_ptr<Backend> backend;
  int slots = 0;
  if (backend_name == "libvirt" && !job.hosts.empty() && a.uri.empty()) {
    std::vector<PoolHost> hosts;
    for (const auto& h : job.hosts) {
      BackendDeps d = deps;
      d.uri = h.uri;
      if (!h.pool_dir.empty()) d.pool_dir = h.pool_dir;
      auto lv = create_backend("libvirt", d);
      std::vector<std::string> arches = h.arches;
      // No arches: given: what the host's libvirt can emulate. A host that
      // does not answer now is tried (and given up) at its first run.
      if (arches.empty()) {
        if (auto* l = dynamic_cast<LibvirtBackend*>(lv.get())) {
          try {
            arches = l->arches();
            status->info(fmt::format("host {}: {} slot(s), runs {}", h.uri, h.slots,
                                     fmt::join(arches, ", ")));
          } catch (const InfraError& e) {
            status->warn(fmt::format("host {}: {}", h.uri, e.what()));
          }
        }
      }
      hosts.push_back({h.uri, std::move(lv), h.slots, arches});
    }
    auto pool = std::make_unique<HostPool>(std::move(hosts));
    slots = pool->total_slots();
    backend = std::move(pool);
  } else {
    if (!a.uri.empty())
      deps.uri = a.uri;
    else if (!job.uri.empty())
      deps.uri = job.uri;
    backend = create_backend(backend_name, deps);
  }
  KernelBuilder builder(runner, *status, paths, host_cores());
  Executor executor(builder, *backend, runner, *status, paths);

  int vcpus = 1;
  for (const auto& r : plan) vcpus = std::max(vcpus, r.spec.machine.cpus);
  ExecutorOptions opts{out, a.jobs > 0 ? a.jobs : slots > 0 ? slots : default_parallel_vms(vcpus)};
  status->info(fmt::format("job {} ({}): {} run(s), results in {}", job.name, job.origin,
                           plan.size(), out.string()));
  // Every run goes into the history, whatever ends the job.
  std::filesystem::path history = a.no_history           ? std::filesystem::path()
                                  : !a.history.empty()   ? std::filesystem::path(a.history)
                                  : !job.history.empty() ? job.history
                                                         : default_history_path(out);
  auto started = std::chrono::steady_clock::now();
  std::vector<RunResult> results;
  try {
    results = executor.execute(job, plan, opts);
  } catch (...) {
    record_history(history, out, *status);
    throw;
  }
  record_history(history, out, *status);
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
