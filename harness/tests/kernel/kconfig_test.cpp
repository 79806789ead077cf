#include "kernel/kconfig.h"

#include <gtest/gtest.h>

namespace kh {
namespace {

TEST(Kconfig, ParsesAssignmentsAndNotSet) {
  auto s = parse_kconfig(
      "# a comment\n"
      "CONFIG_MEMCG=y\n"
      "\n"
      "# CONFIG_SWAP is not set\n"
      "CONFIG_PANIC_TIMEOUT=-1\n"
      "CONFIG_CMDLINE=\"console=ttyS0 quiet\"\n"
      "  CONFIG_SPACED = m  \r\n"
      "not a setting\n"
      "# CONFIG_X is set\n",
      "frag.config");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].symbol, "CONFIG_MEMCG");
  EXPECT_EQ(s[0].value, "y");
  EXPECT_EQ(s[0].line, 2);
  EXPECT_EQ(s[0].origin, "frag.config");
  EXPECT_EQ(s[1].symbol, "CONFIG_SWAP");
  EXPECT_EQ(s[1].value, "n");
  EXPECT_EQ(s[1].line, 4);
  EXPECT_EQ(s[2].value, "-1");
  EXPECT_EQ(s[3].value, "\"console=ttyS0 quiet\"");
  EXPECT_EQ(s[4].symbol, "CONFIG_SPACED");
  EXPECT_EQ(s[4].value, "m");
  EXPECT_EQ(s[4].line, 7);
}

TEST(Kconfig, NothingLostWhenEverythingSurvives) {
  auto req = parse_kconfig("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=3\n", "f");
  auto fin =
      config_values(parse_kconfig("CONFIG_A=y\nCONFIG_C=3\n# CONFIG_B is not set\n", ".config"));
  EXPECT_TRUE(lost_symbols(req, fin).empty());
  EXPECT_EQ(describe_lost({}), "");
}

TEST(Kconfig, AbsentSymbolCountsAsNo) {
  auto req = parse_kconfig("# CONFIG_GONE is not set\n", "f");
  EXPECT_TRUE(lost_symbols(req, {}).empty());
}

// The real case: CONFIG_VIRTIO_BLK without CONFIG_BLK_DEV vanishes.
TEST(Kconfig, VanishedSymbolIsReportedWithFileAndLine) {
  std::vector<ConfigSetting> req = parse_kconfig("CONFIG_VIRTIO=y\n", "configs/kernel/base.config");
  auto more = parse_kconfig("# extra\nCONFIG_DEBUG_VM=y\nCONFIG_VIRTIO_BLK=y\n",
                            "configs/kernel/debug.config");
  req.insert(req.end(), more.begin(), more.end());
  auto fin = config_values(parse_kconfig("CONFIG_VIRTIO=y\nCONFIG_DEBUG_VM=y\n", ".config"));
  auto lost = lost_symbols(req, fin);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(describe_lost(lost),
            "config: 1 symbol lost in the merge: CONFIG_VIRTIO_BLK=y "
            "(configs/kernel/debug.config:3)");
}

TEST(Kconfig, ChangedValueAndNotSetAreLost) {
  auto req = parse_kconfig("CONFIG_FOO=y\nCONFIG_NR=8\n# CONFIG_BAR is not set\n", "a.config");
  auto fin = config_values(parse_kconfig("CONFIG_FOO=m\nCONFIG_NR=64\nCONFIG_BAR=y\n", ".config"));
  auto lost = lost_symbols(req, fin);
  ASSERT_EQ(lost.size(), 3u);
  EXPECT_EQ(describe_lost(lost),
            "config: 3 symbols lost in the merge: CONFIG_FOO=y (a.config:1), CONFIG_NR=8 "
            "(a.config:2), CONFIG_BAR=n (a.config:3)");
}

TEST(Kconfig, LaterFragmentOverridesEarlierRequest) {
  auto req = parse_kconfig("CONFIG_SWAP=y\n", "base.config");
  auto later = parse_kconfig("# CONFIG_SWAP is not set\n", "noswap.config");
  req.insert(req.end(), later.begin(), later.end());
  // Only the last request counts: SWAP=n is honoured, the earlier y is not a loss.
  EXPECT_TRUE(lost_symbols(req, {}).empty());
  auto lost = lost_symbols(req, {{"CONFIG_SWAP", "y"}});
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].origin, "noswap.config");
}

}  // namespace
}  // namespace kh
