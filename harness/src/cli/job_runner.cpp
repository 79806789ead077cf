#include "cli/job_runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "cli/job_loading.h"
#include "engine/executor.h"
#include "engine/limits.h"
#include "core/paths.h"
#include "history/dashboard.h"
#include "history/store.h"
#include "kernel/builder.h"
#include "util/error.h"
#include "util/process.h"
#include "vm/accel.h"
#include "vm/host_pool.h"
#include "vm/libvirt.h"
#include "vm/registry.h"

namespace kh::cli {
namespace {

// Imports the job's results folder into the history store, then, when the
// job asks for one, writes the job's dashboard from the store. A history or
// dashboard that cannot be written costs a warning, never the job's results.
void record_history(const Job& job, const std::filesystem::path& history,
                    const std::filesystem::path& out, Status& status) {
  if (history.empty() || !std::filesystem::is_directory(out)) return;
  try {
    HistoryStore store(history);
    ImportSummary rep = import_results(store, {out});
    status.info(fmt::format("history: {} run(s) recorded in {}", rep.added, history.string()));
  } catch (const std::exception& e) {
    status.warn(fmt::format("history {}: not recorded: {}", history.string(), e.what()));
    return;
  }
  if (job.dashboard.empty()) return;
  try {
    HistoryStore store(history);
    HistoryQuery q;
    q.job = job.name;
    std::filesystem::path dir = std::filesystem::absolute(job.dashboard);
    Dashboard d = write_dashboard(store.runs(q), DashboardOptions{}, dir,
                                  std::filesystem::absolute(history).string());
    status.info(fmt::format("dashboard: {} ({} series, {} regression(s) or change(s))",
                            (dir / "index.html").string(), d.series.size(), d.news.size()));
  } catch (const std::exception& e) {
    status.warn(fmt::format("dashboard {}: not written: {}", job.dashboard.string(), e.what()));
  }
}

}  // namespace

std::vector<PlannedRun> plan_job(const Job& job, const PlanFilters& filters) {
  Paths paths = Paths::from_environment();
  auto plan = make_plan(job, filters, [&](const std::string& name) {
    return load_workload(paths.workloads_root(), name);
  });
  resolve_file_params(plan, job.base_dir, paths.root);
  check_limits(plan);  // before any build or boot: exit 2 naming the parameter
  if (plan.empty())
    throw InputError(fmt::format("{}: the filters leave nothing to run", job.origin));
  return plan;
}

std::vector<RunResult> execute_job(const Job& job, const std::vector<PlannedRun>& plan,
                                   const JobRunOptions& a, Status& status) {
  Paths paths = Paths::from_environment();
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
            status.info(fmt::format("host {}: {} slot(s), runs {}", h.uri, h.slots,
                                    fmt::join(arches, ", ")));
          } catch (const InfraError& e) {
            status.warn(fmt::format("host {}: {}", h.uri, e.what()));
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
  KernelBuilder builder(runner, status, paths, host_cores());
  Executor executor(builder, *backend, runner, status, paths);

  int vcpus = 1;
  for (const auto& r : plan) vcpus = std::max(vcpus, r.spec.machine.cpus);
  ExecutorOptions opts{a.out, a.jobs > 0  ? a.jobs
                              : slots > 0 ? slots
                                          : default_parallel_vms(vcpus)};
  // Every run goes into the history, whatever ends the job.
  std::filesystem::path history = a.no_history           ? std::filesystem::path()
                                  : !a.history.empty()   ? std::filesystem::path(a.history)
                                  : !job.history.empty() ? job.history
                                                         : default_history_path(a.out);
  std::vector<RunResult> results;
  try {
    results = executor.execute(job, plan, opts);
  } catch (...) {
    record_history(job, history, a.out, status);
    throw;
  }
  record_history(job, history, a.out, status);
  return results;
}

}  // namespace kh::cli
