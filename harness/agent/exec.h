// kharness exec in the guest: one command with its stdout and stderr on
// virtio console ports of their own, and its exit status as a metric.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "workloads.h"

namespace kh {

// config.json's "exec" object.
struct ExecSpec {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH when it has no '/'
  std::string cwd = "/";
  std::string stdout_port;  // a /dev/hvcN the host streams to its stdout
  std::string stderr_port;  // and to its stderr
};

// Reads config.json's "exec" (absent or null: false). Throws AgentError
// (setup) naming the key that is malformed.
bool parse_exec(const nlohmann::json& config, ExecSpec& out);

// Runs the command (busybox's applets installed on PATH first, stdin
// /dev/null, a session of its own) and waits for it, reaping orphans
// meanwhile. Sends metric "exit_status": its exit code, or 128 + the signal
// that killed it (as a shell reports it), after both ports are drained.
void run_exec(Records& records, const ExecSpec& spec);

}  // namespace kh
