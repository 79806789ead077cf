// A job: which kernels, on which arches, running which workloads, how often.
// Parsed from YAML (configs/jobs/*.yaml); see README.md for the format.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kh {

struct SourceSpec {
  enum class Kind { tarball, git };
  Kind kind = Kind::tarball;
  // As the job gives it: the tarball, or the git repository as a folder
  // (~ and relative paths allowed) or a URL (kernel/source.h resolves both).
  std::filesystem::path path;
  std::string ref;  // git only: branch, tag or commit
  // "<job>:<line>:<col>" of the path and of the ref, for errors found when
  // the source is resolved; empty when no job file named them (bisect).
  std::string path_where, ref_where;
};

struct KernelSpec {
  std::string name;  // label used in results: "linux-6.1", "patched"
  SourceSpec source;
  // A folder name under kernel-patches/, or a path to a series folder; empty
  // for none.
  std::string series;
  // Fragment names (configs/kernel/<name>.config) or paths, merged after the
  // arch's base fragments, in order.
  std::vector<std::string> fragments;
  std::string cmdline;  // appended to the guest kernel command line
  // Workload id -> assertions that replace the workload's defaults for this
  // kernel (a known-bad baseline is *expected* to leak).
  std::map<std::string, std::vector<std::string>> expect;
  // Console report titles this kernel is known to produce ("WARNING in
  // foo"): they are reported but do not fail its runs.
  std::vector<std::string> tolerate;
};

struct WorkloadRef {
  std::string id;                             // unique in the job; defaults to `workload`
  std::string workload;                       // folder under workloads/
  std::map<std::string, std::string> params;  // overrides workload.yaml defaults
  std::string cmdline;  // appended after the workload's own (a variant: cgroup.memory=nokmem)
  // MGLRU for this entry's runs: "on" or "off" (/sys/kernel/mm/lru_gen/
  // enabled, set by the agent before the workload); "" leaves the kernel's
  // default. A kernel without MGLRU skips such runs.
  std::string lru_gen{};
};

struct Timeouts {
  std::chrono::seconds build{3600};
  std::chrono::seconds boot{60};       // QEMU start to agent ready, before TCG scaling
  std::chrono::seconds workload{900};  // agent ready to poweroff, before TCG scaling
};

// A libvirt host of the job's pool (hosts:).
struct HostSpec {
  std::string uri;                  // qemu:///system, qemu+ssh://builder/system
  int slots = 1;                    // VMs at once there
  std::vector<std::string> arches;  // what it may run; empty: whatever its libvirt offers
  std::string pool_dir;             // where on the host the storage pool goes; "" default
};

struct Job {
  std::string name;
  std::string origin;              // file name for messages ("configs/jobs/default.yaml")
  std::filesystem::path base_dir;  // relative paths in the job resolve from here
  std::vector<KernelSpec> kernels;
  std::vector<std::string> arches;
  std::vector<WorkloadRef> workloads;
  int repeats = 1;
  Timeouts timeouts;
  std::filesystem::path output;  // results root, relative to the current directory
  // VM backend: "" leaves it to the command line (qemu by default; libvirt
  // when hosts: is given). uri: the libvirt host for a single-host job.
  std::string backend;
  std::string uri;
  std::vector<HostSpec> hosts;
  std::string text;  // the YAML as given, copied into the results
  // The history store (history/store.h), relative to the current
  // directory; empty: history.sqlite beside the job's results folder.
  std::filesystem::path history;
};

// Parses a job. Throws InputError "<origin>:<line>:<col>: <what was expected>"
// for malformed YAML, unknown keys, wrong types, unknown arches and
// duplicate names. Does not touch the file system beyond nothing: paths are
// resolved later, so a job can be parsed and printed without its sources.
Job parse_job(const std::string& text, const std::string& origin,
              const std::filesystem::path& base_dir);
Job load_job_file(const std::filesystem::path& path);

}  // namespace kh
