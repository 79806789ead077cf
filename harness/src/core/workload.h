// A workload's definition (workloads/<name>/workload.yaml): its parameters,
// machine shape, kernel command line, derived metrics and default
// assertions. The agent implements the workload itself; this is the
// host-side contract.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kh {

struct ParamSpec {
  std::string name;
  std::string default_value;
  std::vector<std::string> choices;  // empty: any value
  bool numeric = false;              // value must parse as a number
  // The value names a host file (a developer's script): the job resolves it
  // (resolve_file_params) and the image carries it to the guest, whose
  // agent gets the guest path instead.
  bool file = false;
  std::string doc;
};

struct MachineShape {
  int cpus = 2;
  int memory_mb = 512;
  int disk_mb = 0;  // 0: no scratch disk; else an ext4 disk of this size at /dev/vda
  // 0 or 1: no NUMA topology; N: N nodes, memory and vCPUs split evenly.
  int numa_nodes = 0;
};

// What the guest can hold, as a condition over the parameters and the
// machine (disk_mb, memory_mb, cpus): checked for every run before any
// boot, so a parameter the guest cannot hold is bad input (exit 2) naming
// the parameter and the limit, never a run that fails in the guest.
struct Limit {
  std::string check;  // "iterations * 4 <= 0.8 * disk_mb * 1024"
  std::string why;    // what in the workload makes it a limit
  std::string where;  // "workloads/x/workload.yaml:12:5"
  // Only for runs whose parameters have these values ({pin: pagecache}).
  std::map<std::string, std::string> when;
};

struct WorkloadSpec {
  std::string name;
  std::string description;
  std::filesystem::path dir;
  std::vector<ParamSpec> params;
  MachineShape machine;
  std::string cmdline;
  // Kconfig fragments (absolute paths, in the workload's folder) merged into
  // the kernel of every job that lists this workload. A run whose fragment
  // symbols did not survive the merge is skipped, naming them.
  std::vector<std::filesystem::path> config;
  // arch -> fragments for that arch only ({file: F, arch: x86_64}): a
  // symbol another arch lacks (NUMA_EMU) must not skip that arch's runs.
  std::map<std::string, std::vector<std::filesystem::path>> arch_config;
  // config, then arch_config[arch].
  std::vector<std::filesystem::path> config_for(const std::string& arch) const {
    auto out = config;
    if (auto it = arch_config.find(arch); it != arch_config.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
    return out;
  }
  // Ordered: a metric may use metrics defined above it. name -> expression.
  std::vector<std::pair<std::string, std::string>> metrics;
  std::vector<std::string> assertions;
  std::vector<Limit> limits;
  std::string key_metric;  // shown in the summary table
  // A folder under the tree's tools/testing/selftests/ ("cgroup") to build
  // statically for the guest and put at /kharness/selftests/<name>/.
  std::string selftests;
  // Why this workload's snapshots are not checked against the statistics
  // invariants (analysis/invariants.h); "" = they are, the default.
  // workload.yaml: `invariants: {check: false, reason: "..."}`.
  std::string invariants_off{};
};

// Throws InputError "<file>:<line>:<col>: ..." like parse_job.
WorkloadSpec parse_workload(const std::string& text, const std::string& origin,
                            const std::filesystem::path& dir);
WorkloadSpec load_workload(const std::filesystem::path& workloads_root, const std::string& name);

// Defaults, then the job's params, then --set overrides. Throws InputError
// naming `where` for an unknown parameter or a value outside its choices.
std::map<std::string, std::string> resolve_params(
    const WorkloadSpec& spec, const std::map<std::string, std::string>& job_params,
    const std::map<std::string, std::string>& overrides, const std::string& where);

}  // namespace kh
