// Running the real kharness binary from integration tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/files.h"

namespace kh::it {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// A run's history goes beside its results folder by default. For a test
// whose --out is a temporary folder of its own, that is the shared temp
// folder (/tmp/history.sqlite), which would outlive the test and mix every
// test's runs: such `run` and `compare` commands get --no-history. A test
// that keeps its results in a subfolder of its temporary folder (the
// history suite) keeps the default store, inside that folder, and one that
// names a store keeps it. Every way of starting kharness goes through this.
std::vector<std::string> without_stray_history(std::vector<std::string> args);

// Runs `kharness args...` to completion (30 min limit), with `env` set on
// top of ours.
CliResult run_kharness(const std::vector<std::string>& args,
                       const std::vector<std::pair<std::string, std::string>>& env = {});

// A suite whose tests all read one kharness run: its SetUpTestSuite calls
// start(args) (--out is added), its TearDownTestSuite finish(). One ctest
// runs one suite (harness/CMakeLists.txt), so the job runs once.
class JobRunTest : public ::testing::Test {
 protected:
  static void start(std::vector<std::string> args);
  static void finish();
  static const CliResult& cli() { return *result_; }
  static const std::filesystem::path& out() { return out_->path(); }
  // <out>/<kernel>/<arch>/<id>
  static std::filesystem::path run_dir(const std::string& id,
                                       const std::string& kernel_arch = "linux-6.1/x86_64") {
    return out() / kernel_arch / id;
  }
  static nlohmann::json result(const std::string& id,
                               const std::string& kernel_arch = "linux-6.1/x86_64");

 private:
  static inline std::unique_ptr<ScopedTempDir> out_;
  static inline std::unique_ptr<CliResult> result_;
};

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
