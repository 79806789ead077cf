// kharness compare: run two or more kernels of a job N times each and
// compare them, or compare result folders that exist.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/job_loading.h"
#include "cli/job_runner.h"
#include "util/clock.h"
#include "core/paths.h"
#include "core/plan.h"
#include "report/compare_html.h"
#include "report/compare_input.h"
#include "report/compare_model.h"
#include "report/compare_render.h"
#include "util/error.h"
#include "util/files.h"
#include "vm/accel.h"
#include "vm/registry.h"

namespace kh::cli {
namespace {

namespace fs = std::filesystem;

struct CompareArgs {
  std::vector<std::string> inputs;  // JOB.yaml, or result folders
  int repeats = 5;
  std::string out;
  std::vector<std::string> arches, workloads, kernels, sets, metrics;
  bool all_metrics = false;
  int jobs = 0;
  std::string accel = "auto";
  std::string history;  // job mode: the history store; "" = the job's or the default
  bool no_history = false;
  bool quiet = false;
};

bool selected(const std::vector<std::string>& filter, const std::string& value) {
  return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
}

std::vector<RunResult> run_job(const CompareArgs& a, fs::path& out,
                               std::vector<std::string>& kernel_order) {
  Job job = load_job_or_default(a.inputs[0]);
  job.repeats = a.repeats;
  auto plan = plan_job(job, {a.arches, a.workloads, a.kernels, a.sets});
  if (a.kernels.empty())
    for (const auto& k : job.kernels) kernel_order.push_back(k.name);
  else
    kernel_order = a.kernels;
  if (kernel_order.size() < 2)
    throw InputError(fmt::format("{}: compare needs at least two kernels, {} {}", job.origin,
                                 a.kernels.empty() ? "the job has" : "--kernel names",
                                 kernel_order.size()));

  out = a.out.empty() ? job.output / fmt::format("{}-compare-{}", job.name, folder_timestamp())
                      : fs::path(a.out);
  std::unique_ptr<Status> status;
  if (a.quiet)
    status = std::make_unique<QuietStatus>();
  else
    status = std::make_unique<TerminalStatus>();
  status->info(fmt::format("compare {} ({}): {} kernel(s) x {} repeat(s), {} run(s), results in {}",
                           job.name, job.origin, kernel_order.size(), a.repeats, plan.size(),
                           out.string()));
  // The job's backend (qemu, libvirt, hosts) and its history, as `run`.
  JobRunOptions opts;
  opts.out = out;
  opts.jobs = a.jobs;
  opts.accel = a.accel;
  opts.history = a.history;
  opts.no_history = a.no_history;
  return execute_job(job, plan, opts, *status);
}

int do_compare(const CompareArgs& a) {
  if (a.inputs.empty()) throw InputError("compare: name a job file or two or more result folders");
  bool any_dir = false, any_file = false;
  for (const auto& in : a.inputs) {
    if (fs::is_directory(in))
      any_dir = true;
    else if (fs::is_regular_file(in))
      any_file = true;
    else
      throw InputError(fmt::format("compare: {}: no such file or folder", in));
  }
  if (any_file && (any_dir || a.inputs.size() > 1))
    throw InputError("compare: give either one job file or result folders, not both");

  auto started = std::chrono::steady_clock::now();
  std::vector<RunResult> runs;
  std::vector<std::string> kernel_order = a.kernels;
  fs::path out;
  CompareOptions options;
  if (any_file) {
    runs = run_job(a, out, kernel_order);
    options.kernels = kernel_order;
  } else {
    runs = read_result_folders({a.inputs.begin(), a.inputs.end()});
    std::erase_if(runs, [&](const RunResult& r) {
      return !selected(a.arches, r.arch) || !selected(a.workloads, r.workload) ||
             !selected(a.kernels, r.kernel.name);
    });
    options.kernels = a.kernels;
    if (!a.out.empty())
      out = a.out;
    else if (a.inputs.size() == 1)
      out = a.inputs[0];
    else
      out = fs::path("results") / fmt::format("compare-{}", folder_timestamp());
  }
  options.extra_metrics = a.metrics;
  options.all_metrics = a.all_metrics;

  Comparison c = compare_runs(runs, options);
  if (any_file)
    c.sources.push_back(fs::absolute(out).string());
  else
    for (const auto& in : a.inputs)
      c.sources.push_back(fs::absolute(in).lexically_normal().string());

  ensure_dir(out);
  std::string md = compare_markdown(c);
  write_file(out / "compare.md", md);
  write_file(out / "compare.json", compare_json(c).dump(2) + "\n");
  RealProcessRunner runner;
  write_compare_html(c, out, runner);
  std::cout << md;
  std::cout << fmt::format(
      "\ncompare: {} ({} s)\n", fs::absolute(out / "compare.html").string(),
      fmt::format(
          "{:.1f}",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()));

  // Nothing to compare in a group where some kernel has no data run (all
  // infra or skipped): that is an infrastructure outcome, not a verdict.
  for (const auto& g : c.groups)
    for (const auto& kr : g.runs)
      if (kr.data_runs() == 0) {
        std::cerr << fmt::format("kharness: {} has no usable run of {} on {} ({} infra, {} skip)\n",
                                 kr.kernel, g.workload, g.arch, kr.infra, kr.skip);
        return kExitInfra;
      }
  return kExitPass;
}

}  // namespace

void add_compare(CLI::App& app, Action& action) {
  auto args = std::make_shared<CompareArgs>();
  auto* sub = app.add_subcommand(
      "compare", "Compare kernels: run a job's kernels N times each, or compare result folders");
  sub->footer(R"(With a JOB file, runs every kernel of the job (two or more) on the same
workloads and arches, --repeats times each (default 5), into one results
folder, then compares them. With result folders, compares the runs they
hold without running anything: runs are grouped by kernel label (a label
found in several folders gets the folder's name in front).

The first kernel (the job's first, or the first --kernel) is the base.
Per workload and arch and metric: each kernel's median, min-max and n,
the change of the median against the base, Welch's t-test and
Mann-Whitney U p-values, and "significant" when both are below 0.05.
Console report titles per kernel side by side, assertions whose verdict
differs between kernels. infra and skip runs are counted, never data.

Writes compare.md (also printed), compare.json and compare.html with
gnuplot plots (plots/*.svg) into the results folder (one folder given:
that one; several: --out or results/compare-<timestamp>).

Examples:
  kharness compare configs/jobs/compare-reclaim-on-offline.yaml
  kharness compare my-series.yaml --repeats 10 --kernel base --kernel patched
  kharness compare results/compare-reclaim-on-offline-20261124-220000
  kharness compare results/before results/after --out /tmp/cmp

Exit codes: 0 the comparison was made, 2 bad usage or input, 3 a kernel
has no usable run of a workload (all infra), or the kernel build or
gnuplot failed, 130 interrupted.)");
  sub->add_option("inputs", args->inputs,
                  "JOB.yaml, or two or more result folders (or one holding several kernels)")
      ->required();
  sub->add_option("--repeats,-r", args->repeats, "Runs of each kernel x arch x workload (job mode)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--out,-o", args->out, "Folder for the results and the reports");
  sub->add_option("--arch", args->arches, "Only these arches (repeatable)");
  sub->add_option("--workload,-w", args->workloads,
                  "Only these workloads, by id or name (repeatable)");
  sub->add_option("--kernel,-k", args->kernels,
                  "Only these kernels, in this order: the first is the base (repeatable)");
  sub->add_option("--set", args->sets,
                  "Override a workload parameter: WORKLOAD.PARAM=VALUE (repeatable, job mode)");
  sub->add_option("--metric,-m", args->metrics,
                  "Also show this metric (e.g. after.memstat.file; repeatable)");
  sub->add_flag("--all-metrics", args->all_metrics, "Show every metric, snapshot ones included");
  sub->add_option("--jobs,-j", args->jobs, "VMs at once (default: host cores / guest vCPUs)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--accel", args->accel, "auto (KVM if it works here, else TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_option("--history", args->history,
                  "History store to record the job's runs in (job mode; default: the job's "
                  "history:, else history.sqlite beside the results folder)");
  sub->add_flag("--no-history", args->no_history, "Do not record the runs in a history store");
  sub->add_flag("--quiet,-q", args->quiet, "No progress, only the report");
  sub->callback([&action, args] { action = [args] { return do_compare(*args); }; });
}

}  // namespace kh::cli
