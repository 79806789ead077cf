// memcg-stress's reader of /sys/kernel/debug/lru_gen (harness/agent/lru_gen.h).
// The text is laid out as 6.1's lru_gen_seq_show prints it (mm/vmscan.c:
// "memcg %5hu %s", " node %5d", " %10lu %10u" and " %10lu%c" per type).
#include "agent/lru_gen.h"

#include <gtest/gtest.h>

namespace kh::lru_gen {
namespace {

constexpr const char* kTwoMemcgsTwoNodes =
    "memcg     1 /\n"
    " node     0\n"
    "          0      12076        512         1024 \n"
    "          1      12076          0            0 \n"
    "          2      12076          0         4096 \n"
    "          3       3012         96          300 \n"
    " node     1\n"
    "          2       9000          0            0 \n"
    "          3       9000          0            8 \n"
    "memcg    17 /kharness/churn/c0_12\n"
    " node     0\n"
    "          5        120          0           64 \n"
    "          6         40          0            0 \n"
    "          7         10          0            0 \n";

TEST(LruGenParse, EveryLruvecWithItsOldestAndYoungestGeneration) {
  auto v = parse(kTwoMemcgsTwoNodes);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].memcg, 1);
  EXPECT_EQ(v[0].path, "/");
  EXPECT_EQ(v[0].node, 0);
  EXPECT_EQ(v[0].min_seq, 0);
  EXPECT_EQ(v[0].max_seq, 3);
  EXPECT_EQ(v[1].memcg, 1) << "the second node of the same memcg";
  EXPECT_EQ(v[1].node, 1);
  EXPECT_EQ(v[1].min_seq, 2);
  EXPECT_EQ(v[1].max_seq, 3);
  EXPECT_EQ(v[2].memcg, 17);
  EXPECT_EQ(v[2].path, "/kharness/churn/c0_12");
  EXPECT_EQ(v[2].min_seq, 5);
  EXPECT_EQ(v[2].max_seq, 7);
}

TEST(LruGenParse, CutOffOrEmptyTextGivesWhatIsThere) {
  EXPECT_TRUE(parse("").empty());
  // The memcg went away between two reads: a node without generations.
  auto v = parse("memcg    20 /kharness/churn/c1_3\n node     0\n");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].min_seq, -1);
  EXPECT_EQ(v[0].max_seq, -1);
  // Generation lines before any node belong to nothing.
  EXPECT_TRUE(parse("          5        120          0           64 \n").empty());
}

}  // namespace
}  // namespace kh::lru_gen
