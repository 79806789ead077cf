#include "engine/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "analysis/assertions.h"
#include "analysis/console_findings.h"
#include "analysis/records.h"
#include "engine/guest.h"
#include "engine/judge.h"
#include "engine/metrics.h"
#include "engine/run_folder.h"
#include "report/job_files.h"
#include "report/result_json.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace kh {

Executor::Executor(KernelBuilder& builder, Backend& backend, ProcessRunner& runner, Status& status,
                   Paths paths)
    : builder_(builder),
      backend_(backend),
      runner_(runner),
      status_(status),
      paths_(std::move(paths)) {}

RunResult Executor::run_one(const PlannedRun& run, const Artifact& artifact,
                            const std::string& config_args, const Job& job,
                            const std::filesystem::path& out_dir) {
  const SteadyClock::time_point started = SteadyClock::now();
  std::string subject = run.run_dir;
  std::filesystem::path dir = std::filesystem::absolute(out_dir / run.run_dir);
  ensure_dir(dir);
  RunResult r;
  r.kernel = {run.kernel->name, artifact.release, artifact.key, run.kernel->series,
              run.kernel->source.kind == SourceSpec::Kind::git
                  ? run.kernel->source.path.string() + "@" + run.kernel->source.ref
                  : run.kernel->source.path.string()};
  r.kernel.source_id = artifact.source_id;
  r.kernel.commit = artifact.commit;
  r.kernel.series_hash = artifact.series_hash;
  r.kernel.config_hash = artifact.config_hash;
  for (const auto& p : artifact.patches) r.kernel.patches.push_back(p.string());
  r.kernel.config_not_applicable = artifact.config_not_applicable;
  r.started = utc_timestamp();
  r.arch = std::string(run.arch->name);
  r.workload = run.ref->id;
  r.workload_name = run.spec.name;
  r.key_metric = run.spec.key_metric;
  r.repeat = run.repeat;
  r.params = run.params;
  if (!run.ref->lru_gen.empty()) r.params["lru_gen"] = run.ref->lru_gen;
  r.run_dir = run.run_dir;
  r.timings["build"] = artifact.build_seconds;

  // A workload whose fragment the kernel could not honour (a symbol this
  // tree lacks, an unmet dependency) would run blind: say so instead.
  {
    std::string final_config;
    read_file_if_exists(artifact.config, final_config);
    if (std::string why = missing_workload_config(
            run.spec, final_config, std::string(run.arch->name), artifact.config_not_applicable);
        !why.empty()) {
      r.outcome = Outcome::skip;
      r.reason = why;
      write_result_json(dir / "result.json", r);
      status_.step(subject, "skip: " + why);
      return r;
    }
  }

  status_.step(subject, "writing the guest image");
  const int disk_mb = run.spec.machine.disk_mb;
  std::filesystem::path selftests;
  if (!run.spec.selftests.empty()) {
    auto it = artifact.selftests.find(run.spec.selftests);
    if (it == artifact.selftests.end() || it->second.empty()) {
      r.outcome = Outcome::infra;
      r.reason = fmt::format("selftests/{} could not be built for this kernel (see above)",
                             run.spec.selftests);
      write_result_json(dir / "result.json", r);
      return r;
    }
    selftests = it->second;
  }
  // The run folder keeps its kernel: reproduce.sh needs no cache.
  const std::filesystem::path kernel_image = keep_kernel(artifact, dir);
  BootRequest req = write_guest(run, kernel_image, config_args, dir, AgentShell::none, recipe_,
                                paths_, runner_, selftests);
  req.boot_timeout = job.timeouts.boot;
  req.run_timeout = job.timeouts.workload;

  // A finding is shown as soon as its first line reaches the console (the
  // monitor reads it every 20 ms), not when the VM is over.
  double first_finding = -1;
  std::set<std::string> shown;
  req.on_console = [&](const std::string& line, double seconds) {
    std::string title = finding_start_title(line);
    if (title.empty() || !shown.insert(title).second) return;
    if (first_finding < 0) first_finding = seconds;
    status_.progress(subject, "console: " + title);
  };
  status_.step(subject, "booting");
  VmExit vm = backend_.run(req, [&](const AgentRecord& record) {
    if (record.type == "ready") status_.progress(subject, "agent ready, running " + run.ref->id);
    if (record.type == "log") status_.progress(subject, record.text("message"));
    if (record.type == "snapshot") status_.progress(subject, "snapshot " + record.text("name"));
  });
  r.accel = std::string(to_string(vm.accel));
  r.accel_note = vm.accel_note;
  r.host = vm.host;
  r.infra_attempts = vm.infra_attempts;
  r.timings["boot"] = vm.boot_seconds;
  r.timings["vm_total"] = vm.total_seconds;
  if (vm.setup_seconds >= 0) r.timings["vm_setup"] = vm.setup_seconds;
  if (vm.teardown_seconds >= 0) r.timings["vm_teardown"] = vm.teardown_seconds;
  r.timings["boot_limit"] = vm.boot_limit_seconds;
  r.timings["workload_limit"] = vm.run_limit_seconds;
  if (vm.boot_seconds >= 0) r.timings["workload"] = vm.total_seconds - vm.boot_seconds;
  // The run's own time (guest image, VM): the kernel build is shared by
  // every run of the kernel and kept apart, in "build".
  r.timings["total"] = seconds_since(started);
  // Seconds from the VM's start to the first finding's line on the console
  // (the key is result.json's, unchanged): with vm_total, how long a
  // finding (a panic) kept the VM going.
  if (first_finding >= 0) r.timings["first_report"] = first_finding;
  RebuildRecipe rebuild = keep_recipe(artifact, *run.kernel, *run.arch, job.base_dir, dir);
  write_file(dir / "reproduce.sh",
             reproduce_script(vm.argv, disk_mb, kernel_image.filename().string(), &rebuild));
  make_executable(dir / "reproduce.sh");

  std::string console_text, records_text;
  read_file_if_exists(dir / "console.log", console_text);
  read_file_if_exists(dir / "records.jsonl", records_text);
  ConsoleFindings console = parse_console(console_text);
  AgentRecords records = parse_records(records_text);
  mark_tolerated(console.findings, run.kernel->tolerate);
  r.console = console.findings;

  std::vector<std::string> metric_errors;
  r.metrics = collect_metrics(run, records, metric_errors, &r.cases, &r.missing_metrics);
  // Each program's whole output beside the console: script.out,
  // test_memcontrol.ktap.
  for (const auto& o : records.outputs)
    write_file(dir / fmt::format("{}.{}", o.name, o.format == "ktap" ? "ktap" : "out"), o.text);
  if (records.done) {
    // The kernel's own statistics first: a broken invariant is a kernel bug.
    r.assertions = invariant_results(run.spec, records);
    auto own = evaluate_assertions(run.assertions, r.metrics, r.missing_metrics);
    r.assertions.insert(r.assertions.end(), own.begin(), own.end());
  }
  Verdict v = judge_run(vm, console, records, r.assertions, r.cases);
  r.outcome = v.outcome;
  r.reason = v.reason;
  write_result_json(dir / "result.json", r);
  status_.step(subject, fmt::format("{}{}{} (boot {:.1f} s, {} via {})", to_string(r.outcome),
                                    r.reason.empty() ? "" : ": ", r.reason, vm.boot_seconds,
                                    r.accel, vm.host.empty() ? run.arch->qemu_binary : vm.host));
  return r;
}

std::vector<RunResult> Executor::execute(const Job& job, const std::vector<PlannedRun>& plan,
                                         const ExecutorOptions& options) {
  const auto& out_dir = options.out_dir;
  ensure_dir(out_dir);
  write_file(out_dir / "job.yaml", job.text);
  recipe_ = load_image_recipe(paths_.image_recipe());
  std::vector<RunResult> results;
  std::mutex mu;

  // Builds are serial (one source tree at a time, all cores to make); the
  // runs of each built kernel then go out to up to `jobs` VMs at once.
  std::size_t i = 0;
  while (i < plan.size()) {
    const KernelSpec* kernel = plan[i].kernel;
    const ArchInfo* arch = plan[i].arch;
    std::size_t end = i;
    while (end < plan.size() && plan[end].kernel == kernel && plan[end].arch == arch) ++end;
    std::string subject = fmt::format("{}/{}", kernel->name, arch->name);

    Artifact artifact;
    std::string step = "kernel build";
    try {
      // The builder says where the kernel came from (once, a step line).
      artifact =
          builder_.build(*kernel, *arch, job.base_dir, job.timeouts.build, plan[i].workload_config);
      step = "guest packages";
      ensure_guest_packages(recipe_, *arch, paths_.debs(), runner_, status_);
    } catch (const InfraError& e) {
      for (std::size_t k = i; k < end; ++k) {
        RunResult r;
        r.kernel.name = kernel->name;
        r.started = utc_timestamp();
        r.arch = std::string(arch->name);
        r.workload = plan[k].ref->id;
        r.workload_name = plan[k].spec.name;
        r.repeat = plan[k].repeat;
        r.params = plan[k].params;
        r.run_dir = plan[k].run_dir;
        r.outcome = Outcome::infra;
        r.reason = step + ": " + e.what();
        write_result_json(out_dir / r.run_dir / "result.json", r);
        results.push_back(std::move(r));
      }
      write_job_files(job.name, results, out_dir);
      status_.warn(fmt::format("{}: {}", subject, e.what()));
      i = end;
      continue;
    } catch (...) {
      write_job_files(job.name, results, out_dir);
      throw;
    }
    // Selftests the group's workloads run, built from the same tree. A
    // failure here is the runs' infra, not the job's end.
    for (std::size_t k = i; k < end; ++k) {
      const std::string& target = plan[k].spec.selftests;
      if (target.empty() || artifact.selftests.count(target)) continue;
      try {
        artifact.selftests[target] = builder_.build_selftests(
            *kernel, *arch, job.base_dir, plan[i].workload_config, target, job.timeouts.build);
      } catch (const InfraError& e) {
        artifact.selftests[target] = std::filesystem::path();
        status_.warn(fmt::format("{}: {}", subject, e.what()));
      }
    }

    const std::string config_args = config_boot_args(*arch, artifact.config);
    std::atomic<std::size_t> next{i};
    std::exception_ptr fatal;
    auto worker = [&] {
      for (;;) {
        std::size_t k = next++;
        if (k >= end) return;
        {
          std::lock_guard lock(mu);
          if (fatal) return;
        }
        try {
          RunResult r = run_one(plan[k], artifact, config_args, job, out_dir);
          std::lock_guard lock(mu);
          results.push_back(std::move(r));
          write_job_files(job.name, results, out_dir);
          if (interrupted() && !fatal)
            fatal = std::make_exception_ptr(Interrupted("running " + plan[k].run_dir));
        } catch (...) {
          std::lock_guard lock(mu);
          if (!fatal) fatal = std::current_exception();
          return;
        }
      }
    };
    int n = std::max(1, std::min<int>(options.jobs, static_cast<int>(end - i)));
    if (n == 1) {
      worker();
    } else {
      std::vector<std::thread> threads;
      for (int t = 0; t < n; ++t) threads.emplace_back(worker);
      for (auto& t : threads) t.join();
    }
    if (fatal) {
      write_job_files(job.name, results, out_dir);
      std::rethrow_exception(fatal);
    }
    i = end;
  }
  write_job_files(job.name, results, out_dir);
  return results;
}

}  // namespace kh
