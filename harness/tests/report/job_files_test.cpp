#include "report/job_files.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/files.h"

namespace kh {
namespace {

TEST(JobFilesTest, WritesTheFourJobFilesForTheRunsSoFar) {
  ScopedTempDir tmp;
  RunResult pass, fail;
  pass.kernel.name = fail.kernel.name = "linux-6.1";
  pass.arch = fail.arch = "x86_64";
  pass.workload = fail.workload = "dying-cgroup";
  pass.outcome = Outcome::pass;
  pass.run_dir = "linux-6.1/x86_64/dying-cgroup/0";
  fail.outcome = Outcome::fail;
  fail.reason = "WARNING in f";
  fail.run_dir = "linux-6.1/x86_64/dying-cgroup/1";
  write_job_files("nightly", {pass, fail}, tmp.path());
  auto summary = nlohmann::json::parse(read_file(tmp.path() / "summary.json"));
  EXPECT_EQ(summary["job"], "nightly");
  EXPECT_EQ(summary["runs"].size(), 2u);
  EXPECT_NE(read_file(tmp.path() / "junit.xml").find("WARNING in f"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(read_file(tmp.path() / "kcidb.json")).is_object());
  EXPECT_NE(read_file(tmp.path() / "results.ktap").find("not ok"), std::string::npos);

  // Rewritten whole: a later call with fewer runs leaves no trace of more.
  write_job_files("nightly", {pass}, tmp.path());
  EXPECT_EQ(nlohmann::json::parse(read_file(tmp.path() / "summary.json"))["runs"].size(), 1u);
}

}  // namespace
}  // namespace kh
