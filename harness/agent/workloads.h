// workloads.h — what a workload sees: the records channel, its config and
// parameters, and the table that maps a workload name to its function.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "cgroup.h"

namespace kh {

// The records channel (/dev/hvc0): one JSON object per line, each line
// written with a single write(). See README.md for the record types.
class Records {
 public:
  explicit Records(int fd) : fd_(fd) {}

  void emit(const nlohmann::json& record);
  void ready(const std::string& release, double uptime);
  void log(std::string_view message);
  void metric(std::string_view name, double value);
  void error(ErrorKind kind, std::string_view message);
  void done(bool ok);

 private:
  int fd_;
};

// Whether the agent leaves a shell on the console (kharness boot).
enum class Shell {
  none,     // run the workload, power off
  instead,  // no workload: a shell, power off when it exits
  after,    // the workload, then a shell
};

// /kharness/config.json, as written by the host.
struct Config {
  std::string workload;
  std::map<std::string, std::string> params;  // every value is a string
  std::string disk;                           // empty: no scratch disk
  Shell shell = Shell::none;
  // MGLRU for this run: "on", "off", or "" to leave the kernel's default.
  std::string lru_gen;
};

struct Context {
  Records& records;
  const Config& config;
  std::string scratch;  // mount point of the scratch disk, empty when none

  // The param's value, or `fallback` when the host did not set it.
  std::string param(const std::string& name, const std::string& fallback) const;
  // An integer param in [min, max]; a setup error when malformed.
  long param_int(const std::string& name, long fallback, long min, long max) const;
  // A param that must be one of `choices`; a setup error otherwise.
  std::string param_choice(const std::string& name, const std::string& fallback,
                           std::initializer_list<std::string_view> choices) const;
};

// Emits {"type":"snapshot",...} for a memory-cgroup hierarchy: the files of
// cgroup::snapshot_files() that exist, values live_memcgs, live_children,
// dying_memcgs, nr_cpus and page_size plus the workload's `extra` values,
// and meta (cgroup_version, cgroup_root, parent, read_us). Reusable by any
// workload; the host checks every snapshot against the statistics
// invariants.
void emit_cgroup_snapshot(Records& records, std::string_view name, const cgroup::Hierarchy& h,
                          const nlohmann::json& extra = nlohmann::json::object());

// A workload runs to completion or throws AgentError. It emits its own
// snapshots, metrics and logs; the agent emits ready, error and done.
using WorkloadFn = void (*)(Context& ctx);

struct Workload {
  std::string_view name;
  WorkloadFn run;
  std::string_view summary;
};

// Workloads defined in their own files (workload_<name>.cpp).
void run_script(Context& ctx);        // workload_programs.cpp
void run_kselftest(Context& ctx);     // workload_programs.cpp
void run_thp_shrinker(Context& ctx);  // workload_thp.cpp
void run_lkdtm(Context& ctx);         // workload_lkdtm.cpp
void run_jbd2(Context& ctx);          // workload_jbd2.cpp
void run_memcg_stress(Context& ctx);  // workload_stress.cpp
void run_shared_file(Context& ctx);   // workload_shared_file.cpp

std::span<const Workload> workloads();
const Workload* find_workload(std::string_view name);

}  // namespace kh
