// The engine: for a plan, build each (kernel, arch) once, then for each run
// write the guest image, boot it, read what the agent and the console said,
// judge it, and write result.json, reproduce.sh and the job's summary.
// Reports progress to a Status; never prints.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/console_report.h"
#include "analysis/records.h"
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
  RunResult run_one(const PlannedRun& run, const Artifact& artifact, const Job& job,
                    const std::filesystem::path& out_dir);
  void write_summary(const Job& job, const std::vector<RunResult>& results,
                     const std::filesystem::path& out_dir);

  KernelBuilder& builder_;
  Backend& backend_;
  ProcessRunner& runner_;
  Status& status_;
  Paths paths_;
  ImageRecipe recipe_;  // images/guest.yaml, read once per job
};

// Whether the agent leaves a shell on the console (kharness boot) and when.
enum class AgentShell {
  none,                 // run the workload and power off (every run)
  instead_of_workload,  // skip the workload; the shell; power off when it exits
  after_workload,       // the workload (records as usual), then the shell
};

// The agent's /kharness/config.json for a run.
std::string agent_config_json(const PlannedRun& run, bool has_disk,
                              AgentShell shell = AgentShell::none);

// Writes a run's guest into `dir`, the same for `kharness run` and `kharness
// boot`: initramfs.cpio (the recipe's packages, the agent as /init,
// config.json, the workload's files) and, when the workload asks for a disk,
// a fresh scratch.img. Returns the request to boot `kernel_image` with it;
// the timeouts are left at their defaults for the caller to set. Throws
// InfraError when the agent, a package or mkfs is missing.
BootRequest write_guest(const PlannedRun& run, const std::filesystem::path& kernel_image,
                        const std::filesystem::path& dir, AgentShell shell,
                        const ImageRecipe& recipe, const Paths& paths, ProcessRunner& runner,
                        const std::filesystem::path& selftests = {});

// The cases of every KTAP output the agent sent, and metrics for every
// program output: <name>.exit_status/.timed_out/.seconds, and for KTAP
// <name>.pass/.fail/.skip/.xfail plus kselftest.<status> and .total over all.
std::vector<TestCase> program_cases(const AgentRecords& records, Metrics& metrics);

// Pure: outcome and one-line reason from everything a run produced.
// Order: interrupted/VM failure, kernel splats and panics (fail, even when a
// timeout followed), timeouts, agent errors, assertions.
struct Verdict {
  Outcome outcome;
  std::string reason;
};
// Console findings whose title is in `tolerated` (the kernel's tolerate:
// list) do not fail the run; they stay in result.json.
Verdict judge_run(const VmExit& vm, const ConsoleReport& console, const AgentRecords& records,
                  const std::vector<AssertionResult>& assertions,
                  const std::vector<std::string>& tolerated = {});

// Why the built kernel cannot run `spec` ("the kernel lacks what workload
// 'jbd2' needs: config: 1 symbol lost ..."), or "" when its `config:`
// fragments all survived in `final_config` (the .config text).
std::string missing_workload_config(const WorkloadSpec& spec, const std::string& final_config,
                                    const std::string& arch);

// The taint bits the run added, comparing the first and the last snapshot
// of /proc/sys/kernel/tainted: (before, after), or nullopt when none.
std::optional<std::pair<unsigned long, unsigned long>> taint_appeared(const AgentRecords& records);

// The metrics of a run: each snapshot's, the agent's own, the numeric
// parameters, then the workload's derived metrics. Derivation errors are
// returned, not thrown. `cases`, when given, receives program_cases'
// cases (KTAP is parsed once, for both).
Metrics collect_metrics(const PlannedRun& run, const AgentRecords& records,
                        std::vector<std::string>& errors, std::vector<TestCase>* cases = nullptr);

// The contents of reproduce.sh for a run folder.
std::string reproduce_script(const std::vector<std::string>& argv, int disk_mb);

}  // namespace kh
