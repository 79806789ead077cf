// The agent's records (JSON lines on the guest's virtio console, kept as
// records.jsonl in the run folder) and the metrics derived from snapshots.
// The record format is documented in harness/agent/README.md.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/run_result.h"

namespace kh {

struct Snapshot {
  std::string name;                          // "before", "after", "settled"
  std::map<std::string, std::string> files;  // guest path -> content
  std::map<std::string, double> values;      // numbers the agent counted itself
  std::map<std::string, std::string> meta;   // cgroup_version, cgroup_root, parent
};

// A program the agent ran (a script, a selftest): its whole output.
struct ProgramOutput {
  std::string name;    // "script", "test_memcontrol"
  std::string format;  // "text" or "ktap"
  int exit_status = -1;
  bool timed_out = false;
  double seconds = 0;
  std::string text;
};

struct AgentRecords {
  bool ready = false;
  double ready_uptime = 0;  // guest uptime when the agent started
  std::string release;      // guest uname -r
  std::vector<Snapshot> snapshots;
  Metrics metrics;  // "metric" records, verbatim
  std::vector<std::string> logs;
  std::vector<ProgramOutput> outputs;
  std::vector<std::string> setup_errors;     // agent could not set up: infra
  std::vector<std::string> workload_errors;  // the workload itself failed: fail
  // The kernel lacks what the workload needs (the v1 memory controller,
  // MGLRU, a memory controller left off by cgroup_disable=memory): skip.
  std::vector<std::string> unsupported;
  // The guest ran out of what the harness gave it (ENOSPC on the scratch
  // disk, EMFILE): infra, never the kernel's verdict.
  std::vector<std::string> limit_errors;
  bool done = false;
  bool done_ok = false;  // "done" said status "ok" (else "error")
  int bad_lines = 0;     // lines that were not a JSON object (a cut-off last line)
};

// One line of the record protocol: a JSON object whose "type" says what it
// is ("ready", "log", "snapshot", "metric", "error", "output", "done"; a
// newer agent may send others).
struct AgentRecord {
  std::string type;
  nlohmann::json fields;  // the whole object, "type" included
  // The string field `key`; "" when it is absent or not a string.
  std::string text(const char* key) const;
};

// Pure: the record on one line, or nullopt when the line is not a JSON
// object (a cut-off last line). The protocol's one reader: parse_records,
// the VM monitor's ready detection (vm/monitor.h) and the live progress
// all go through it. Never throws.
std::optional<AgentRecord> parse_record(std::string_view line);

// Pure: parses the whole records file. Never throws.
AgentRecords parse_records(std::string_view jsonl);

// Pure: "<snapshot>.<metric>" for everything a snapshot says (see
// README.md, "Metrics").
Metrics snapshot_metrics(const Snapshot& snap);

}  // namespace kh
