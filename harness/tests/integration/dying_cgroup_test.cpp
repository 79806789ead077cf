// Real build, real QEMU: Linux 6.1 x86_64 with the dying-memcg reproducer.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <pugixml.hpp>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

class DyingCgroupX86 : public JobRunTest {
 protected:
  // --jobs 2: both runs boot at once, through the parallel path.
  static void SetUpTestSuite() { start({"run", job("dying-cgroup-x86_64.yaml"), "--jobs", "2"}); }
  static void TearDownTestSuite() { finish(); }
};

TEST_F(DyingCgroupX86, BothRunsPassTheirExpectations) {
  EXPECT_EQ(cli().exit_code, 0) << cli().output;
  EXPECT_NE(line_with(cli().output, "pagecache").find("pass"), std::string::npos) << cli().output;
}

TEST_F(DyingCgroupX86, PageCachePinnedMemcgsPileUpOn61) {
  auto r = read_json(run_dir("pagecache") / "result.json");
  const auto& m = r["metrics"];
  double iterations = m["iterations"];
  ASSERT_EQ(iterations, 500);
  double dying = m["after.nr_dying_descendants"].get<double>() -
                 m["before.nr_dying_descendants"].get<double>();
  EXPECT_GE(dying, 0.9 * iterations) << r.dump(1).substr(0, 2000);
  EXPECT_EQ(m["dying_after_loop"].get<double>(), dying);
  // /proc/cgroups counts them too.
  EXPECT_GE(
      m["after.memory_num_cgroups"].get<double>() - m["before.memory_num_cgroups"].get<double>(),
      0.9 * iterations);
  // sync + drop_caches frees the pages, and with them the memcgs.
  EXPECT_LE(m["dying_settled"].get<double>(), 0.1 * iterations);
  EXPECT_EQ(r["outcome"], "pass");
  EXPECT_EQ(r["params"]["cgroup"], "v2");
}

TEST_F(DyingCgroupX86, KernelStackPinnedMemcgsAreReparentedOn61) {
  auto r = read_json(run_dir("kmem") / "result.json");
  const auto& m = r["metrics"];
  EXPECT_LE(m["dying_after_loop"].get<double>(), 0.1 * m["iterations"].get<double>())
      << r.dump(1).substr(0, 2000);
  EXPECT_EQ(r["outcome"], "pass");
  EXPECT_EQ(r["params"]["cgroup"], "v1");
}

TEST_F(DyingCgroupX86, ResultJunitAndConsoleAgree) {
  auto summary = read_json(out() / "summary.json");
  ASSERT_EQ(summary["runs"].size(), 2u);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file((out() / "junit.xml").c_str()));
  auto suite = doc.child("testsuites").child("testsuite");
  EXPECT_EQ(suite.attribute("tests").as_int(), 2);
  EXPECT_EQ(suite.attribute("failures").as_int(), 0);
  int cases = 0;
  for (auto tc : suite.children("testcase")) {
    ++cases;
    EXPECT_FALSE(tc.child("failure")) << tc.attribute("name").value();
  }
  EXPECT_EQ(cases, 2);
  for (const char* id : {"pagecache", "kmem"}) {
    auto r = read_json(run_dir(id) / "result.json");
    std::string console = read_file(run_dir(id) / "console.log");
    std::string release = r["kernel"]["release"];
    ASSERT_FALSE(release.empty());
    EXPECT_NE(console.find("Linux version " + release), std::string::npos) << id;
    std::string records = read_file(run_dir(id) / "records.jsonl");
    EXPECT_NE(records.find("\"type\":\"done\""), std::string::npos) << id;
    EXPECT_FALSE(r["accel"].get<std::string>().empty());
    EXPECT_GE(r["timings"]["boot"].get<double>(), 0);
    bool in_summary = false;
    for (const auto& s : summary["runs"])
      if (s["workload"] == id) in_summary = s["outcome"] == r["outcome"];
    EXPECT_TRUE(in_summary) << id;
    struct stat st {};
    ASSERT_EQ(::stat((run_dir(id) / "reproduce.sh").c_str(), &st), 0);
    EXPECT_TRUE(st.st_mode & S_IXUSR);
    EXPECT_NE(read_file(run_dir(id) / "reproduce.sh").find("qemu-system-x86_64"),
              std::string::npos);
  }
  EXPECT_TRUE(processes_under(out()).empty()) << "a QEMU outlived kharness";
}

TEST_F(DyingCgroupX86, ASecondBuildRunsNoMake) {
  auto again = run_kharness({"build", job("dying-cgroup-x86_64.yaml")});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(line_with(again.output, "linux-6.1/x86_64").find("cached"), std::string::npos)
      << again.output;
}

}  // namespace
}  // namespace kh::it
