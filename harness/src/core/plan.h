// Expanding a job into runs: kernels x arches x workloads x repeats, after
// the command line's filters and parameter overrides. Pure: no I/O beyond
// reading workload.yaml files through the loader it is given.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/job.h"
#include "core/workload.h"

namespace kh {

struct PlanFilters {
  std::vector<std::string> arches;  // empty: the job's
  // Workload selectors: a job entry's id; a workload name selects every
  // entry of that workload only when no entry has it as its id. Empty: all.
  std::vector<std::string> workloads;
  std::vector<std::string> kernels;  // names; empty: all
  // "WORKLOAD.PARAM=VALUE" from --set; WORKLOAD is a selector as above.
  std::vector<std::string> sets;
};

struct PlannedRun {
  const KernelSpec* kernel = nullptr;
  const ArchInfo* arch = nullptr;
  const WorkloadRef* ref = nullptr;
  WorkloadSpec spec;
  std::map<std::string, std::string> params;  // resolved
  std::vector<std::string> assertions;        // the kernel's expect:, else the workload's
  // Fragments of every workload the job lists (not only the selected ones,
  // so --workload never changes the kernel), in job order, deduplicated.
  std::vector<std::filesystem::path> workload_config;
  int repeat = 0;       // 0-based
  std::string run_dir;  // relative: kernel/arch/workload[/rN]
};

using WorkloadLoader = std::function<WorkloadSpec(const std::string& name)>;

// The union of the `config:` fragments of the job's workloads, in the order
// the job lists them: what KernelBuilder::build merges after the base
// fragments so one kernel per (kernel, arch) serves every workload.
std::vector<std::filesystem::path> job_workload_config(const Job& job, const WorkloadLoader& load,
                                                       const std::string& arch);

// The one step of planning that reads the disk: every `file: true`
// parameter becomes an absolute path. A relative value is looked up beside
// the job file, then under the kharness root (workloads/script/examples/...).
// Throws InputError naming the run and the places looked in.
void resolve_file_params(std::vector<PlannedRun>& plan, const std::filesystem::path& job_dir,
                         const std::filesystem::path& root);

// Throws InputError for a filter naming nothing in the job, a --set that is
// malformed or names an unknown parameter, an arch the table lacks.
std::vector<PlannedRun> make_plan(const Job& job, const PlanFilters& filters,
                                  const WorkloadLoader& load);

}  // namespace kh
