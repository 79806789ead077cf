// kharness bisect and kharness bisect-step: which commit broke it, on real
// kernels. The search, the verdict rule and the log are in bisect/; this
// file turns the command line into a StepSetup and prints the outcome.
#include "bisect/bisect.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <csignal>
#include <iostream>

#include "bisect/git.h"
#include "bisect/kernel_tester.h"
#include "bisect/log.h"
#include "cli/commands.h"
#include "cli/job_loading.h"
#include "core/arch.h"
#include "core/paths.h"
#include "kernel/series.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/process.h"
#include "vm/accel.h"
#include "vm/registry.h"

namespace fs = std::filesystem;

namespace kh::cli {
namespace {

// What a step builds and runs: shared by bisect and bisect-step.
struct TestArgs {
  std::string tree = ".";
  std::string job, kernel;
  std::vector<std::string> workloads, params, asserts, fragments;
  std::string arch;
  std::string tries = "3";  // a number, or "auto" (TryMode::until_confident)
  double confidence = 0.95;
  int max_tries = 10;
  std::string out;
  std::string accel = "auto";
  bool quiet = false;
};

TryPolicy try_policy(const TestArgs& a) {
  TryPolicy p;
  p.confidence = a.confidence;
  p.max_tries = a.max_tries;
  if (a.tries == "auto") {
    p.mode = TryMode::until_confident;
    return p;
  }
  char* end = nullptr;
  long n = std::strtol(a.tries.c_str(), &end, 10);
  if (a.tries.empty() || *end != '\0' || n < 1 || n > 100)
    throw InputError(
        fmt::format("--tries {}: expected a number of runs per step (1-100) or auto", a.tries));
  p.tries = static_cast<int>(n);
  return p;
}

struct BisectArgs : TestArgs {
  std::string good, bad, series, base;
};

fs::path repo_of(const std::string& tree, ProcessRunner& runner) {
  ProcessResult r = run_git(runner, tree, {"rev-parse", "--show-toplevel"});
  if (!r.ok()) throw InputError(fmt::format("--tree {}: not a git work tree", tree));
  return fs::path(first_line(r.output));
}

// The job every step runs: --job's (one kernel, one arch), or one made from
// --workload; then --tries, --assert, --param and --fragment on top.
StepSetup make_setup(const TestArgs& a, const fs::path& repo, const fs::path& out) {
  StepSetup s;
  s.repo = repo;
  s.out_dir = out;
  if (!a.job.empty()) {
    s.job = load_job_file(a.job);
    auto it = s.job.kernels.begin();
    if (!a.kernel.empty()) {
      it = std::find_if(s.job.kernels.begin(), s.job.kernels.end(),
                        [&](const KernelSpec& k) { return k.name == a.kernel; });
      if (it == s.job.kernels.end())
        throw InputError(fmt::format("--kernel {}: {} has no such kernel", a.kernel, a.job));
    }
    KernelSpec k = *it;
    if (!k.series.empty())
      throw InputError(fmt::format(
          "{}: kernel '{}' has a series; bisect builds commits (use --series for a series)", a.job,
          k.name));
    s.job.kernels = {k};
  } else {
    if (a.workloads.empty())
      throw InputError("name the test: --workload W (workloads/W), or --job FILE");
    YAML::Emitter y;
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "bisect";
    y << YAML::Key << "kernels" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << "bisect";
    y << YAML::Key << "source" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "git"
      << YAML::Value << repo.string() << YAML::Key << "ref" << YAML::Value << "HEAD"
      << YAML::EndMap;
    y << YAML::EndMap << YAML::EndSeq;
    y << YAML::Key << "workloads" << YAML::Value << YAML::Flow << a.workloads;
    y << YAML::EndMap;
    s.job = parse_job(std::string(y.c_str()) + "\n", "bisect (command line)", fs::current_path());
  }
  Job& job = s.job;
  KernelSpec& k = job.kernels.front();
  k.name = "bisect";
  for (const auto& f : a.fragments) k.fragments.push_back(f);
  std::string arch = a.arch.empty() ? job.arches.front() : a.arch;
  if (!find_arch(arch))
    throw InputError(fmt::format("--arch {}: unknown arch (known: {})", arch, known_arch_names()));
  job.arches = {arch};
  TryPolicy policy = try_policy(a);
  // Each step's tester sets the count per batch; this is what the job says.
  job.repeats = policy.mode == TryMode::fixed ? policy.tries : 1;
  if (!a.job.empty()) s.filters.workloads = a.workloads;

  // The selected entries' ids: --assert and --param apply to each.
  std::vector<std::string> ids;
  for (const auto& w : job.workloads) {
    bool by_id = std::any_of(job.workloads.begin(), job.workloads.end(), [&](const WorkloadRef& r) {
      return std::find(a.workloads.begin(), a.workloads.end(), r.id) != a.workloads.end();
    });
    bool selected = s.filters.workloads.empty() ||
                    std::find(a.workloads.begin(), a.workloads.end(), by_id ? w.id : w.workload) !=
                        a.workloads.end();
    if (selected) ids.push_back(w.id);
  }
  if (!a.asserts.empty())
    for (const auto& id : ids) k.expect[id] = a.asserts;
  for (const auto& p : a.params) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("--param {}: expected NAME=VALUE", p));
    if (p.substr(0, eq).find('.') != std::string::npos) {
      s.filters.sets.push_back(p);  // WORKLOAD.NAME=VALUE
    } else {
      for (const auto& id : ids) s.filters.sets.push_back(id + "." + p);
    }
  }
  job.text += fmt::format(
      "\n# kharness bisect: arch {}, tries {}, each step's kernel is the commit under test{}{}\n",
      arch, describe(policy),
      a.asserts.empty() ? "" : "; assert: " + fmt::format("{}", fmt::join(a.asserts, " && ")),
      a.params.empty() ? "" : "; params: " + fmt::format("{}", fmt::join(a.params, " ")));
  return s;
}

struct Engine {
  Paths paths = Paths::from_environment();
  std::unique_ptr<Status> status;
  RealProcessRunner runner;
  RealHostProbe probe;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<KernelBuilder> builder;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<KernelStepTester> tester;

  Engine(const TestArgs& a, const StepSetup& setup) {
    if (a.quiet)
      status = std::make_unique<QuietStatus>();
    else
      status = std::make_unique<TerminalStatus>();
    BackendDeps deps{&runner, &probe, paths.cache, a.accel};
    backend = create_backend("qemu", deps);
    builder = std::make_unique<KernelBuilder>(runner, *status, paths, host_cores());
    builder->set_tree_mode(TreeMode::persistent_worktree);
    executor = std::make_unique<Executor>(*builder, *backend, runner, *status, paths);
    tester = std::make_unique<KernelStepTester>(*builder, *executor, paths, setup);
    // The plan also fails on a bad --workload/--param before any build.
    int vcpus = 1;
    for (const auto& r : tester->plan_for(setup.job)) vcpus = std::max(vcpus, r.spec.machine.cpus);
    tester->set_vm_jobs(default_parallel_vms(vcpus));
  }
};

int do_bisect(const BisectArgs& a) {
  RealProcessRunner git_runner;
  fs::path repo = repo_of(a.tree, git_runner);
  fs::path out = a.out.empty() ? fs::path("results") / fmt::format("bisect-{}", folder_timestamp())
                               : fs::path(a.out);
  out = fs::absolute(out);
  StepSetup setup = make_setup(a, repo, out);
  Engine e(a, setup);

  auto sink = [&](const BisectSummary& r) {
    write_bisect_log(out, r);
    if (!r.steps.empty() && !r.finished) {
      const StepRecord& s = r.steps.back();
      // A reused verdict ran no try of its own: its confidence is the
      // earlier step's.
      std::string confidence;
      if (std::isfinite(s.judgement.confidence))
        confidence = fmt::format(", confidence {:.3f}", s.judgement.confidence);
      if (!s.tries.empty())
        confidence +=
            fmt::format(" after {} tr{}", s.tries.size(), s.tries.size() == 1 ? "y" : "ies");
      e.status->info(fmt::format("step {} ({}): {}: {}{} ({})", s.number, s.role,
                                 describe(s.commit), to_string(s.judgement.verdict), confidence,
                                 s.judgement.why));
    }
  };
  BisectSummary report;
  if (!a.series.empty()) {
    if (a.base.empty()) throw InputError("--series needs --base REF (the commit it applies to)");
    Commit base = resolve_commit(repo, a.base, "--base", git_runner);
    Series series =
        load_series(a.series, resolve_series_dir(a.series, e.paths, fs::current_path()));
    auto patches = commit_series(repo, base, series, out / "series", git_runner);
    e.status->info(fmt::format("series '{}': {} patches on {}; results in {}", series.name,
                               patches.size(), describe(base), out.string()));
    report = run_series_check(base, patches, *e.tester, sink, try_policy(a));
  } else {
    if (a.good.empty() || a.bad.empty())
      throw InputError("bisect needs --good REF and --bad REF (or --series DIR --base REF)");
    Commit good = resolve_commit(repo, a.good, "--good", git_runner);
    Commit bad = resolve_commit(repo, a.bad, "--bad", git_runner);
    auto between = first_parent_path(repo, good, bad, git_runner);
    e.status->info(fmt::format("bisect: {} commits after {}; results in {}", between.size(),
                               describe(good), out.string()));
    report = run_bisect(good, between, *e.tester, sink, try_policy(a));
  }
  std::cout << bisect_log_text(report);
  std::cout << fmt::format("log: {}\n", (out / "bisect.log").string());
  if (report.mode == "bisect") return report.first_bad.size() == 1 ? 0 : 1;
  return 0;
}

// bisect-step may only exit 0, 1 or 125 (main.cpp maps everything else);
// a crash of kharness itself is a skip too.
void exit_125_on_crash(int) {
  ::_exit(125);
}

int do_bisect_step(const TestArgs& a) {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, exit_125_on_crash);
  RealProcessRunner git_runner;
  fs::path repo = repo_of(a.tree, git_runner);
  Commit head = resolve_commit(repo, "HEAD", "--tree", git_runner);
  // Not results/ under the current folder: under `git bisect run` that is
  // the user's checkout.
  fs::path out = a.out.empty() ? Paths::from_environment().cache / "bisect-step" /
                                     fmt::format("{}-{}", short_sha(head.sha), folder_timestamp())
                               : fs::path(a.out);
  out = fs::absolute(out);
  StepSetup setup = make_setup(a, repo, out);
  Engine e(a, setup);
  std::map<std::string, StepRecord> seen;
  BisectSummary report;
  report.mode = "bisect-step";
  report.good = report.bad = head;
  report.candidates = 1;
  report.tries = try_policy(a);
  report.steps.push_back(test_commit(head, "bisect-step", 1, *e.tester, seen, report.tries));
  const StepRecord& s = report.steps.back();
  int code = git_bisect_exit_code(s.judgement.verdict);
  report.conclusion = fmt::format("{}: {} ({}); exit {}", describe(head),
                                  to_string(s.judgement.verdict), s.judgement.why, code);
  report.finished = true;
  write_bisect_log(out, report);
  std::cout << fmt::format("kharness bisect-step: {}\nlog: {}\n", report.conclusion,
                           (out / "bisect.log").string());
  return code;
}

void add_test_options(CLI::App* sub, TestArgs& a) {
  sub->add_option("--tree", a.tree,
                  "The git tree (default: the current folder); never checked "
                  "out: kharness builds in a worktree of its own")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--workload,-w", a.workloads,
                  "The test: a workload under workloads/ (or, with --job, an entry's id or name); "
                  "repeatable");
  sub->add_option("--param,-p", a.params,
                  "A workload parameter: NAME=VALUE (or WORKLOAD.NAME=VALUE); repeatable");
  sub->add_option("--assert", a.asserts,
                  "The verdict: an assertion in the workload's metric language, replacing its "
                  "defaults (e.g. 'dying_settled <= 0.1 * iterations'); repeatable, all must hold");
  sub->add_option("--arch", a.arch, "Guest arch (default: x86_64, or the job's first)");
  sub->add_option("--tries,-t", a.tries,
                  "Runs per step (default 3), or auto: one at a time until the step's verdict "
                  "reaches --confidence, at most --max-tries (still unsure: skip)");
  sub->add_option("--confidence", a.confidence,
                  "With --tries auto: the confidence a step's verdict must reach (default 0.95)")
      ->check(CLI::Range(0.5, 0.999999));
  sub->add_option("--max-tries", a.max_tries, "With --tries auto: tries at most (default 10)")
      ->check(CLI::Range(1, 100));
  sub->add_option("--job", a.job,
                  "Take the kernel (fragments, cmdline, tolerate:, expect:), workloads and "
                  "timeouts from a job file; its source is replaced by each commit")
      ->check(CLI::ExistingFile);
  sub->add_option("--kernel,-k", a.kernel, "With --job: which kernel entry (default: the first)");
  sub->add_option("--fragment", a.fragments,
                  "A Kconfig fragment on top (name under configs/kernel/ or a path); repeatable");
  sub->add_option("--accel", a.accel, "auto (KVM if it works here, else TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_flag("--quiet,-q", a.quiet, "No progress lines");
}

}  // namespace

void add_bisect(CLI::App& app, Action& action) {
  auto args = std::make_shared<BisectArgs>();
  auto* sub = app.add_subcommand(
      "bisect", "Find the commit that broke a workload (or the patch of a series that did)");
  sub->footer(
      fmt::format(R"(Bisect: tests --good (must pass) and --bad (must fail) first, then binary-
searches the first-parent commits between them. Each step checks its commit
out in one persistent worktree of the tree (<cache>/trees/wt-*/src, so make
rebuilds only what changed) and runs the workload --tries times.

Verdict of a step: {}.
Confidence of a verdict: the chance it is right given its tries, with the
failure rate of good and bad kernels learnt from the steps before it
(priors 0.1 and 0.9, two tries' weight). --tries auto adds tries one at a time
until the verdict reaches --confidence (0.95), at most --max-tries (10); a
step still unsure then is skipped. A clear step costs one run, a flaky one more.
A kernel identical (same image hash) to one already tested takes its verdict
without a run.

Series mode (--series DIR --base REF): commits each patch of the series (a
folder under kernel-patches/, or a path) on top of REF, tests the base and
every patch in order, and names the first patch that changes the verdict
and the first that brings a kernel report (ktest's patchcheck).

Results: RESULTS/bisect.log (for people), bisect.json (every step: commit,
subject, build time, kernel hash, tries with outcomes and metrics, verdict),
steps/NN-SHA/ (each step's run folders, as `kharness run` writes them).

Examples:
  kharness bisect --tree ~/linux --good v6.1 --bad HEAD -w dying-cgroup \
      -p pin=kmem -p iterations=200 --assert 'dying_settled <= 0.1 * iterations'
  kharness bisect --tree ~/linux --series kernel-patches/selftest-bisect --base v6.1 \
      -w dying-cgroup -p pin=kmem --assert 'dying_settled <= 0.1 * iterations'
  kharness bisect --tree ~/linux --good v6.1 --bad HEAD --job my.yaml -w lkdtm

Exit codes: 0 the first bad commit is named (series: the check finished),
1 skipped commits leave several candidates, 2 bad usage or an end that is not
what --good/--bad say, 3 infrastructure, 130 interrupted.)",
                  kVerdictRule));
  add_test_options(sub, *args);
  sub->add_option("--good", args->good, "A commit where the test passes");
  sub->add_option("--bad", args->bad, "A later commit where it fails");
  sub->add_option("--series", args->series, "Series mode: a series folder (quilt or mbox)");
  sub->add_option("--base", args->base, "Series mode: the commit the series applies to");
  sub->add_option("--out,-o", args->out, "Results folder (default: results/bisect-<timestamp>)");
  sub->callback([&action, args] { action = [args] { return do_bisect(*args); }; });
}

void add_bisect_step(CLI::App& app, Action& action) {
  auto args = std::make_shared<TestArgs>();
  auto* sub = app.add_subcommand(
      "bisect-step", "Test HEAD of a tree for `git bisect run`: exit 0 good, 1 bad, 125 skip");
  sub->footer(
      fmt::format(R"(Builds the commit HEAD of --tree points at (in kharness's own worktree of
the tree, as `kharness bisect` does) and runs the workload --tries times.
Verdict: {}.

Exits only with 0 (good), 1 (bad) or 125 (skip: did not build, infra, bad
usage, interrupted, or any error of kharness itself), never above 127, so
`git bisect run` never aborts on it. Run it once by hand first to check the
options: a usage error would skip every commit.

Example:
  cd ~/linux && git bisect start HEAD v6.1
  git bisect run kharness bisect-step -w dying-cgroup -p pin=kmem \
      --assert 'dying_settled <= 0.1 * iterations'

Results (printed at the end): <cache>/bisect-step/SHA-TIME/, or --out, with
bisect.log and bisect.json for the one step and its run folders; not under
the current folder, which under `git bisect run` is your checkout.)",
                  kVerdictRule));
  add_test_options(sub, *args);
  sub->add_option("--out,-o", args->out,
                  "Results folder (default: <cache>/bisect-step/<sha>-<timestamp>)");
  sub->callback([&action, args] { action = [args] { return do_bisect_step(*args); }; });
}

}  // namespace kh::cli
