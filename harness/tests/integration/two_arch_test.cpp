// One job on x86_64 and arm64: both kernels built (arm64 cross-compiled),
// both booted, one summary with both rows.
#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <map>
#include <set>
#include <sstream>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

TEST(TwoArchIntegration, OneSummaryWithBothArchesAndTheArm64Baseline) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness({"run", job("two-arch.yaml"), "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The table has a row per arch.
  EXPECT_NE(line_with(r.output, "x86_64  dying-cgroup").find("pass"), std::string::npos)
      << r.output;
  EXPECT_NE(line_with(r.output, "arm64   dying-cgroup").find("pass"), std::string::npos)
      << r.output;

  // Not a terminal here (as in CI): every status line is said once.
  std::map<std::string, int> said;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("[", 0) == 0) ++said[line];
  for (const auto& [line, n] : said) EXPECT_EQ(n, 1) << line;
  EXPECT_EQ(said.count("[linux-6.1/x86_64] kernel"), 0u) << r.output;  // said by the next line

  auto summary = read_json(out.path() / "summary.json");
  ASSERT_EQ(summary["runs"].size(), 2u);
  std::set<std::string> arches;
  for (const auto& run : summary["runs"]) arches.insert(run["arch"].get<std::string>());
  EXPECT_EQ(arches, (std::set<std::string>{"x86_64", "arm64"}));

  auto arm = read_json(out.path() / "linux-6.1/arm64/dying-cgroup/result.json");
  const auto& m = arm["metrics"];
  EXPECT_GE(m["after.nr_dying_descendants"].get<double>() -
                m["before.nr_dying_descendants"].get<double>(),
            0.9 * 500)
      << arm.dump(1).substr(0, 2000);
  EXPECT_EQ(arm["arch"], "arm64");
  std::string console = read_file(out.path() / "linux-6.1/arm64/dying-cgroup/console.log");
  EXPECT_NE(console.find("Machine model: linux,dummy-virt"), std::string::npos)
      << console.substr(0, 1500);
  EXPECT_NE(read_file(out.path() / "linux-6.1/arm64/dying-cgroup/reproduce.sh")
                .find("qemu-system-aarch64"),
            std::string::npos);

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file((out.path() / "junit.xml").c_str()));
  EXPECT_EQ(doc.child("testsuites").child("testsuite").attribute("tests").as_int(), 2);
  EXPECT_TRUE(processes_under(out.path()).empty());
}

}  // namespace
}  // namespace kh::it
