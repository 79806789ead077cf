// What one run produced: the value every report is made from. result.json
// is this struct serialised (report/result_json.h); compare and bisect read
// it back, never the raw logs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/outcome.h"

namespace kh {

using Metrics = std::map<std::string, double>;

struct AssertionResult {
  std::string expression;
  double value = 0;  // what the expression evaluated to (nonzero: holds)
  bool passed = false;
  std::string error;  // the expression could not be evaluated
  // For a comparison ("dying_after_loop <= 0.1 * iterations"), its left
  // side and what that was: the number a reader wants when it fails.
  std::string left{};
  double left_value = 0;
  // The metric this assertion needs and the run does not have (the kernel
  // did not provide it): "" when none. Such an assertion cannot judge.
  std::string missing{};
  // What a check that is not an expression found (a statistics invariant:
  // analysis/invariants.h): the numbers behind its verdict; "" otherwise.
  std::string detail{};
};

// One finding of the console parser (analysis/console_findings.h).
struct ConsoleFinding {
  std::string kind;        // "WARNING", "BUG", "Oops", "panic", "hung task", ...
  std::string title;       // "WARNING in mem_cgroup_css_offline"
  std::size_t line = 0;    // 1-based line in console.log
  bool corrupted = false;  // the finding was cut off
  bool tolerated = false;  // the kernel's tolerate: list names this title
  std::string excerpt;     // the finding's lines (the cut-here block, the oops and its
                           // call trace), timestamps stripped; capped in length
};

// One subtest of a program the workload ran (a selftest's KTAP line): a
// case of its own in result.json and junit.xml.
struct TestCase {
  std::string program;  // "test_memcontrol"
  std::string name;     // "test_memcg_subtree_control"
  std::string status;   // "pass", "fail", "skip", "xfail"
  std::string reason;   // skip/fail reason: the directive's text or the last "# " line before
};

struct KernelIdentity {
  std::string name;          // the job's label
  std::string release;       // `make kernelrelease`
  std::string artifact_key;  // content key of the build
  std::string series;        // series folder, or empty
  std::string source;        // tarball path, or repo@ref
  // What the kernel is, whatever it is called: the history keys on these.
  std::string source_id{};             // "tarball:<sha256>" or "git:<tree id>"
  std::string commit{};                // git sources: the commit; "" for a tarball
  std::string series_hash{};           // KCIDB patchset hash of the series; "" without one
  std::string config_hash{};           // sha256 of the final .config
  std::vector<std::string> patches{};  // the series' patch files, in order (absolute)
  // Fragment symbols this tree does not define (not applicable to it).
  std::vector<std::string> config_not_applicable{};
};

struct RunResult {
  KernelIdentity kernel;
  std::string arch;
  std::string workload;       // the job's workload id
  std::string workload_name;  // the folder under workloads/
  std::string key_metric;     // the workload's headline metric (workload.yaml)
  int repeat = 0;
  std::string started{};  // when the run began, UTC, "2026-11-24T21:13:14Z"
  std::map<std::string, std::string> params;
  Outcome outcome = Outcome::infra;
  std::string reason;      // one line: why fail/infra/skip
  std::string accel;       // "kvm", "tcg", or "" when never booted
  std::string accel_note;  // why this accelerator ("kvm hung before the agent; fell back to tcg")
  std::map<std::string, double> timings;  // seconds: build, boot, workload, total
  Metrics metrics;
  // Metrics the workload defines that this run could not have, with why
  // ("needs after.memory_num_cgroups, which this kernel's snapshots did
  // not provide"): listed, never silently dropped.
  std::map<std::string, std::string> missing_metrics{};
  std::vector<AssertionResult> assertions;
  std::vector<ConsoleFinding> console;
  std::vector<TestCase> cases;  // subtests of the programs the workload ran
  std::string run_dir;          // relative to the job's output folder
  std::string host;             // the libvirt host it ran on; "" for the local qemu backend
  // Attempts on hosts that failed before this one (infra, never a result).
  std::vector<std::string> infra_attempts{};
};

}  // namespace kh
