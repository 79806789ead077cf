// Running the real kharness binary from integration tests.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kh::it {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `kharness args...` to completion (30 min limit), with `env` set on
// top of ours.
CliResult run_kharness(const std::vector<std::string>& args,
                       const std::vector<std::pair<std::string, std::string>>& env = {});

// tests/data/jobs/<name>
std::string job(const std::string& name);

nlohmann::json read_json(const std::filesystem::path& p);

// Processes (other than us) whose working directory is under `dir`:
// QEMU runs in its run folder and make in the kernel tree, so none may be
// left there once kharness exits.
std::vector<int> processes_under(const std::filesystem::path& dir);

// The last line of `text` that contains `needle`, or "".
std::string line_with(const std::string& text, const std::string& needle);

}  // namespace kh::it
