// Real build, real QEMU, Debian's Linux 6.12 on x86_64: every shipped
// workload and variant on a kernel five years newer than 6.1, from the same
// fragments. The configuration follows the tree (symbols it does not
// define are not applicable, CONFIG_MEMCG_V1 is built where it exists),
// MGLRU is switched per run, and what a kernel lacks is a skip naming it.
#include <gtest/gtest.h>

#include <set>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

const char* const kKernelArch = "linux-6.12/x86_64";

class Linux612X86 : public JobRunTest {
 protected:
  static void SetUpTestSuite() { start({"run", job("workloads-6.12-x86_64.yaml")}); }
  static void TearDownTestSuite() { finish(); }
  static nlohmann::json r(const std::string& id) { return result(id, kKernelArch); }
};

TEST_F(Linux612X86, TheKernelBuildsFromFragmentsWrittenFor61) {
  auto res = r("dying-cgroup");
  EXPECT_EQ(res["kernel"]["release"].get<std::string>().rfind("6.12.", 0), 0u)
      << res["kernel"].dump(1);
  // Symbols 6.12 does not define are listed, not fatal; a build says so
  // once in its output (a kernel from the cache is not built again).
  std::set<std::string> na;
  for (const auto& s : res["kernel"]["config_not_applicable"]) na.insert(s.get<std::string>());
  EXPECT_TRUE(na.count("CONFIG_BASE_FULL")) << res["kernel"].dump(1);
  EXPECT_TRUE(na.count("CONFIG_MEMCG_KMEM")) << res["kernel"].dump(1);
  EXPECT_FALSE(na.count("CONFIG_MEMCG_V1"));  // 6.12 has it: it is built
  if (cli().output.find(" from the cache (") == std::string::npos) {
    EXPECT_NE(cli().output.find("not in this tree (not applicable): CONFIG_BASE_FULL"),
              std::string::npos)
        << cli().output.substr(0, 4000);
  }
}

// No infra, no skip: every workload and variant runs and holds 6.12's
// expectations (the job file), the v1 ones included.
TEST_F(Linux612X86, EveryWorkloadAndVariantPasses) {
  for (const char* id : {"dying-cgroup", "dying-cgroup-mglru", "dying-cgroup-v1",
                         "dying-cgroup-kmem", "thp-shrinker", "thp-mglru", "thp-nokmem", "jbd2",
                         "kselftest-cgroup", "cover-letter", "kmem-2021", "lkdtm"}) {
    auto res = r(id);
    EXPECT_EQ(res["outcome"], "pass") << id << ": " << res["reason"] << "\n"
                                      << res["assertions"].dump(1);
    // v1's memory.stat says "total_cache" where v2 says "file": the
    // snapshot's parent_file reads either, so no metric is missing on v1.
    EXPECT_TRUE(res["missing_metrics"].empty()) << id << ": " << res["missing_metrics"].dump(1);
  }
}

TEST_F(Linux612X86, TheV1MemoryControllerIsThereAndLeaksLike61) {
  auto res = r("dying-cgroup-v1");
  const auto& m = res["metrics"];
  EXPECT_GE(m["dying_after_loop"].get<double>(), 900) << m.dump(1).substr(0, 2000);
  EXPECT_EQ(r("cover-letter")["metrics"]["script.exit_status"], 0);
}

// lru_gen: on|off reaches the kernel, and result.json says what it was.
TEST_F(Linux612X86, MglruIsSwitchedPerRunAndRecorded) {
  auto on = r("dying-cgroup-mglru"), off = r("dying-cgroup");
  EXPECT_EQ(on["params"]["lru_gen"], "on");
  EXPECT_EQ(off["params"]["lru_gen"], "off");
  EXPECT_GE(on["metrics"]["lru_gen_enabled"].get<double>(), 1) << on["metrics"].dump(1);
  EXPECT_EQ(off["metrics"]["lru_gen_enabled"].get<double>(), 0);
  // An entry that does not ask leaves the kernel's default (off: the
  // fragment does not set LRU_GEN_ENABLED) and still records it.
  EXPECT_EQ(r("dying-cgroup-v1")["metrics"]["lru_gen_enabled"].get<double>(), 0);
  EXPECT_GE(r("thp-mglru")["metrics"]["lru_gen_enabled"].get<double>(), 1);
}

TEST_F(Linux612X86, SelftestsAreThoseOf612) {
  auto res = r("kselftest-cgroup");
  std::set<std::string> programs;
  for (const auto& c : res["cases"]) programs.insert(c["program"].get<std::string>());
  EXPECT_EQ(programs, (std::set<std::string>{"test_core", "test_memcontrol", "test_kmem"}));
  EXPECT_GE(res["metrics"]["test_memcontrol.pass"].get<double>(), 11) << res["reason"];
  EXPECT_GE(res["metrics"]["test_kmem.pass"].get<double>(), 4) << res["reason"];
}

// cgroup_disable=memory: the kernel boots clean, the workload cannot run,
// and the run says why as a skip, not infra and not a kernel failure.
TEST_F(Linux612X86, MemcgDisabledOnTheCommandLineIsASkipNamingIt) {
  auto res = r("memcg-disabled");
  EXPECT_EQ(res["outcome"], "skip") << res.dump(1).substr(0, 3000);
  EXPECT_NE(res["reason"].get<std::string>().find("cgroup_disable=memory"), std::string::npos)
      << res["reason"];
  EXPECT_TRUE(res["console"].empty()) << res["console"].dump(1);
}

TEST_F(Linux612X86, TheJobEndsWithTheSkipCountedAndNoFailure) {
  // 12 passes and the one deliberate skip: exit 0 (a skip is not a failure).
  EXPECT_EQ(cli().exit_code, 0) << cli().output.substr(0, 4000);
  auto summary = read_json(out() / "summary.json");
  EXPECT_EQ(summary["counts"]["pass"], 12) << summary["counts"].dump();
  EXPECT_EQ(summary["counts"]["skip"], 1);
}

}  // namespace
}  // namespace kh::it
