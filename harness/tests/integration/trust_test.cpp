// Nothing on disk is trusted, limits are inputs, and a run folder replays
// on its own: a damaged cached kernel is rebuilt, a damaged guest package
// fetched again, a parameter the guest
// cannot hold is refused before any boot, and reproduce.sh works with the
// cache out of sight.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/paths.h"
#include "kharness_cli.h"
#include "util/files.h"
#include "util/process.h"

namespace kh::it {
namespace {

const char* kRunDir = "linux-6.1/x86_64/dying-cgroup";

CliResult short_default_run(const std::filesystem::path& out) {
  return run_kharness({"run", "--arch", "x86_64", "--workload", "dying-cgroup", "--set",
                       "dying-cgroup.iterations=200", "--out", out.string()});
}

TEST(TrustNothingOnDisk, TruncatedCachedKernelIsRebuiltWithOneWarningAndTheRunPasses) {
  ScopedTempDir first("kharness-it");
  auto r = short_default_run(first.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string key = read_json(first.path() / kRunDir / "result.json")["kernel"]["artifact_key"];
  std::filesystem::path entry = Paths::from_environment().cache / "artifacts" / key;
  ASSERT_TRUE(std::filesystem::exists(entry / "bzImage")) << entry;
  auto bytes = std::filesystem::file_size(entry / "bzImage");
  std::filesystem::resize_file(entry / "bzImage", bytes / 3);  // a partial copy

  ScopedTempDir second("kharness-it");
  r = short_default_run(second.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string warning = line_with(r.output, "failed its check");
  EXPECT_NE(warning.find("bzImage has"), std::string::npos) << r.output;
  EXPECT_NE(warning.find("rebuilding it"), std::string::npos) << r.output;
  EXPECT_EQ(std::filesystem::file_size(entry / "bzImage"), bytes);  // whole again
  auto res = read_json(second.path() / kRunDir / "result.json");
  EXPECT_EQ(res["outcome"], "pass") << res.dump(1).substr(0, 1500);
  EXPECT_GT(res["timings"]["build"].get<double>(), 0);  // built, not taken from the cache

  // The next run trusts the rebuilt entry without a word.
  ScopedTempDir third("kharness-it");
  r = short_default_run(third.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(line_with(r.output, "failed its check"), "") << r.output;
}

// A guest package cut short in the cache is fetched again (apt checks it
// against Debian's index), with one warning, and the run passes.
TEST(TrustNothingOnDisk, TruncatedGuestPackageIsFetchedAgain) {
  std::filesystem::path debs = Paths::from_environment().debs();
  std::filesystem::path busybox;
  for (const auto& e : std::filesystem::directory_iterator(debs))
    if (e.path().filename().string().rfind("busybox-static_", 0) == 0 &&
        e.path().filename().string().ends_with("_amd64.deb"))
      busybox = e.path();
  ASSERT_FALSE(busybox.empty()) << "run harness/setup.sh first";
  auto bytes = std::filesystem::file_size(busybox);
  std::filesystem::resize_file(busybox, bytes / 2);

  ScopedTempDir out("kharness-it");
  auto r = short_default_run(out.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string warning = line_with(r.output, "guest package busybox-static:amd64");
  EXPECT_NE(warning.find("SHA-256 differs from SHA256SUMS: fetching it again"), std::string::npos)
      << r.output;
  EXPECT_EQ(std::filesystem::file_size(busybox), bytes);
  EXPECT_EQ(read_json(out.path() / kRunDir / "result.json")["outcome"], "pass");
}

TEST(TrustNothingOnDisk, IterationsBeyondTheScratchDiskAreBadInputBeforeAnyBoot) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness({"run", "--arch", "x86_64", "--workload", "dying-cgroup", "--set",
                         "dying-cgroup.iterations=20000", "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::string error = line_with(r.output, "kharness: ");
  EXPECT_NE(error.find("iterations=20000 cannot fit the guest"), std::string::npos) << r.output;
  EXPECT_NE(error.find("workload.yaml:"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out.path() / kRunDir / "console.log"));  // nothing booted
}

// The run folder, copied elsewhere, boots again with kharness's cache
// hidden (a tmpfs over it, in a mount namespace of its own): reproduce.sh
// needs nothing outside the folder but QEMU.
TEST(TrustNothingOnDisk, RunFolderReplaysWithTheCacheOutOfSight) {
  ScopedTempDir out("kharness-it");
  auto r = short_default_run(out.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::filesystem::path copy = out.path() / "elsewhere";
  std::filesystem::copy(out.path() / kRunDir, copy, std::filesystem::copy_options::recursive);
  std::string script = read_file(copy / "reproduce.sh");
  std::filesystem::path cache = Paths::from_environment().cache;
  EXPECT_EQ(script.find(cache.string()), std::string::npos) << script;
  EXPECT_TRUE(std::filesystem::exists(copy / "bzImage"));
  EXPECT_TRUE(std::filesystem::exists(copy / "kernel.config"));

  RealProcessRunner runner;
  Command c;
  c.argv = {"unshare", "-m", "sh", "-c",
            "mount -t tmpfs none " + shell_quote(cache.string()) + " && exec sh " +
                shell_quote((copy / "reproduce.sh").string()) + " < /dev/null"};
  c.timeout = std::chrono::seconds(300);
  auto p = runner.run(c);
  ASSERT_EQ(p.exit_code, 0) << p.output;
  std::filesystem::path repro;
  for (const auto& e : std::filesystem::directory_iterator(copy))
    if (e.path().filename().string().rfind("repro-", 0) == 0) repro = e.path();
  ASSERT_FALSE(repro.empty());
  std::string records = read_file(repro / "records.jsonl");
  EXPECT_NE(records.find("\"type\":\"done\""), std::string::npos) << records.substr(0, 2000);
  EXPECT_NE(records.find("\"status\":\"ok\""), std::string::npos) << records.substr(0, 2000);
}

}  // namespace
}  // namespace kh::it
