#include "analysis/ktap.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "util/files.h"

namespace kh {
namespace {

const TestCase* find(const KtapResult& r, const std::string& name) {
  for (const auto& c : r.cases)
    if (c.name == name) return &c;
  return nullptr;
}

TEST(KtapTest, KselftestStyleResultsWithSkipReasonFromTheDiagnosticBefore) {
  const char* text =
      "TAP version 13\n"
      "1..4\n"
      "ok 1 test_memcg_subtree_control\n"
      "# memory.low protection is not enforced on this kernel\n"
      "ok 2 # SKIP test_memcg_low\n"
      "not ok 3 test_memcg_max\n"
      "ok 4 # SKIP test_memcg_swap_max\n"
      "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:2 error:0\n";
  KtapResult r = parse_ktap(text, "test_memcontrol");
  EXPECT_EQ(r.planned, 4);
  ASSERT_EQ(r.cases.size(), 4u);
  EXPECT_EQ(r.cases[0].status, "pass");
  EXPECT_EQ(r.cases[0].program, "test_memcontrol");
  EXPECT_EQ(r.cases[1].name, "test_memcg_low");
  EXPECT_EQ(r.cases[1].status, "skip");
  EXPECT_EQ(r.cases[1].reason, "memory.low protection is not enforced on this kernel");
  EXPECT_EQ(r.cases[2].status, "fail");
  EXPECT_EQ(r.cases[3].reason, "skipped") << "a diagnostic is used once, not for later skips";
}

TEST(KtapTest, WholeProgramSkipIsOneSkippedCase) {
  KtapResult r =
      parse_ktap("TAP version 13\n1..0 # SKIP cgroup v2 isn't mounted\n", "test_kmem", 4);
  ASSERT_EQ(r.cases.size(), 1u);
  EXPECT_EQ(r.cases[0].name, "test_kmem");
  EXPECT_EQ(r.cases[0].status, "skip");
  EXPECT_EQ(r.cases[0].reason, "cgroup v2 isn't mounted");
}

TEST(KtapTest, StandardTapDescriptionsDirectivesAndNesting) {
  const char* text =
      "KTAP version 1\n"
      "1..3\n"
      "    KTAP version 1\n"
      "    1..1\n"
      "    not ok 1 nested_case_is_not_top_level\n"
      "ok 1 - first # SKIP no swap device\n"
      "not ok 2 second # error crashed\n"
      "ok 3 third # XFAIL known\n";
  KtapResult r = parse_ktap(text, "p");
  ASSERT_EQ(r.cases.size(), 3u);
  EXPECT_EQ(r.cases[0].name, "first");
  EXPECT_EQ(r.cases[0].reason, "no swap device");
  EXPECT_EQ(r.cases[1].status, "fail");
  EXPECT_EQ(r.cases[1].reason, "error");
  EXPECT_EQ(r.cases[2].status, "xfail");
  EXPECT_EQ(find(r, "nested_case_is_not_top_level"), nullptr);
}

TEST(KtapTest, AProgramThatDiedBeforeItsPlanWasDoneGetsAFailingCase) {
  KtapResult r = parse_ktap("TAP version 13\n1..5\nok 1 a\nok 2 b\n", "test_core", 139);
  ASSERT_EQ(r.cases.size(), 3u);
  const TestCase* c = find(r, "incomplete");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "fail");
  EXPECT_EQ(c->reason, "3 of 5 planned tests never reported (exit status 139)");
  KtapResult t = parse_ktap("TAP version 13\n1..2\nok 1 a\n", "x", -1, true);
  EXPECT_NE(find(t, "incomplete")->reason.find("timed out"), std::string::npos);
  KtapResult nothing = parse_ktap("exec /kharness/selftests/cgroup/x: No such file\n", "x", 127);
  ASSERT_EQ(nothing.cases.size(), 1u);
  EXPECT_EQ(nothing.cases[0].reason, "no KTAP results at all (exit status 127)");
}

TEST(KtapTest, BailOutFailsAndStderrNoiseIsIgnored) {
  KtapResult r = parse_ktap(
      "TAP version 13\n1..2\nsome stderr line\nok 1 a\r\nBail out! cannot mkdir\n", "p", 1);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].name, "a");
  EXPECT_EQ(r.cases[1].status, "fail");
  EXPECT_EQ(r.cases[1].reason, "cannot mkdir");
  EXPECT_TRUE(r.bailed_out);
}

}  // namespace
}  // namespace kh
