// Real build, real QEMU, Linux 6.1 x86_64: developers' scripts run as they
// were posted, and the kernel's own cgroup selftests built from the tree.
#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <set>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

class Programs : public JobRunTest {
 protected:
  static void SetUpTestSuite() {
    start({"run", job("workloads-x86_64.yaml"), "--kernel", "linux-6.1", "--workload",
           "cover-letter", "--workload", "kmem-2021", "--workload", "kselftest-cgroup"});
  }
  static void TearDownTestSuite() { finish(); }
};

// One kernel, the two seed scripts as posted, cgroup v1: the bad case and
// the good one.
TEST_F(Programs, TheCoverLettersLoopLeavesADyingMemcgPerIteration) {
  auto r = result("cover-letter");
  const auto& m = r["metrics"];
  EXPECT_EQ(r["outcome"], "pass") << r.dump(1).substr(0, 3000);
  EXPECT_EQ(m["script.exit_status"], 0);
  EXPECT_GE(m["memcgs_peak_added"].get<double>(), 0.9 * 2001);
  EXPECT_LE(m["memcgs_peak_added"].get<double>(), 2001 + 5);
  // The script's own two /proc/cgroups lines are in its output, kept whole.
  std::string out = read_file(run_dir("cover-letter") / "script.out");
  int memory_lines = 0;
  for (std::size_t p = out.find("memory\t"); p != std::string::npos;
       p = out.find("memory\t", p + 1))
    ++memory_lines;
  EXPECT_EQ(memory_lines, 2) << out;
}

TEST_F(Programs, TheKmemScriptPinsNothingOn61) {
  auto r = result("kmem-2021");
  const auto& m = r["metrics"];
  EXPECT_EQ(r["outcome"], "pass") << r.dump(1).substr(0, 3000);
  EXPECT_EQ(m["script.exit_status"], 0);
  EXPECT_LE(m["memcgs_peak_added"].get<double>(), 50);
  // The loop really ran: 500 sleepers were started in the hierarchy.
  EXPECT_GE(m["script.seconds"].get<double>(), 0.1);
}

TEST_F(Programs, SelftestsAreBuiltFromTheTreeRunAndEverySubtestIsACase) {
  auto r = result("kselftest-cgroup");
  const auto& m = r["metrics"];
  ASSERT_TRUE(r.contains("cases")) << r.dump(1).substr(0, 3000);
  std::set<std::string> programs, statuses;
  for (const auto& c : r["cases"]) {
    programs.insert(c["program"].get<std::string>());
    statuses.insert(c["status"].get<std::string>());
    EXPECT_NE(c["name"], "incomplete") << c.dump();
  }
  EXPECT_EQ(programs, (std::set<std::string>{"test_core", "test_memcontrol", "test_kmem"}));
  EXPECT_GE(m["test_memcontrol.pass"].get<double>(), 5) << r.dump(1).substr(0, 3000);
  EXPECT_GE(m["test_core.pass"].get<double>(), 5);
  EXPECT_EQ(m["kselftest.total"].get<double>(), r["cases"].size());
  EXPECT_TRUE(statuses.count("pass"));
  // The raw KTAP is kept beside the run, each line once (a pipe would
  // have had every forked child print the buffered lines again).
  std::string ktap = read_file(run_dir("kselftest-cgroup") / "test_memcontrol.ktap");
  EXPECT_EQ(ktap.find("ok 1 test_memcg_subtree_control"),
            ktap.rfind("ok 1 test_memcg_subtree_control"))
      << ktap;
  EXPECT_NE(ktap.find("ok 1 test_memcg_subtree_control"), std::string::npos) << ktap;

  // junit.xml: a testcase per subtest, failures and skips as such.
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file((out() / "junit.xml").c_str()));
  int subtests = 0, failed = 0;
  for (auto tc : doc.child("testsuites").child("testsuite").children("testcase")) {
    std::string cls = tc.attribute("classname").value();
    if (cls != "linux-6.1.x86_64.kselftest-cgroup") continue;
    ++subtests;
    failed += static_cast<bool>(tc.child("failure"));
  }
  EXPECT_EQ(subtests, static_cast<int>(r["cases"].size()));
  EXPECT_EQ(failed, m["kselftest.fail"].get<double>());
}

}  // namespace
}  // namespace kh::it
