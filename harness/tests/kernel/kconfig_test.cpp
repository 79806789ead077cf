#include "kernel/kconfig.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

TEST(Kconfig, DefinitionsFromConfigAndMenuconfigLines) {
  auto defs = kconfig_definitions(
      "menuconfig MEMCG\n"
      "\tbool \"Memory controller\"\n"
      "if MEMCG\n"
      "config MEMCG_V1\n"
      "\tbool \"Legacy cgroup v1 memory controller\"\n"
      "\tdepends on MEMCG\n"
      "  config  LRU_GEN # trailing comment\n"
      "endif\n"
      "configuration is not a keyword\n");
  EXPECT_TRUE(defs.count("CONFIG_MEMCG"));
  EXPECT_TRUE(defs.count("CONFIG_MEMCG_V1"));
  EXPECT_TRUE(defs.count("CONFIG_LRU_GEN"));
  EXPECT_FALSE(defs.count("CONFIG_URATION"));
}

TEST(Kconfig, TreeSymbolsSkipOtherArches) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kconfig_tree_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "arch/x86");
  std::filesystem::create_directories(dir / "arch/arm64");
  std::filesystem::create_directories(dir / "mm");
  auto put = [](const std::filesystem::path& p, const char* text) {
    std::ofstream(p) << text;
  };
  put(dir / "Kconfig", "source \"mm/Kconfig\"\n");
  put(dir / "mm/Kconfig", "config MEMCG\n\tbool\n");
  put(dir / "arch/Kconfig", "config HAVE_ARCH_THING\n\tbool\n");
  put(dir / "arch/x86/Kconfig", "config KVM_GUEST\n\tbool\n");
  put(dir / "arch/x86/Kconfig.debug", "config X86_DEBUG_THING\n\tbool\n");
  put(dir / "arch/arm64/Kconfig", "config ARM64_THING\n\tbool\n");
  auto x86 = tree_kconfig_symbols(dir, "x86");
  EXPECT_EQ(x86, (std::set<std::string>{"CONFIG_MEMCG", "CONFIG_HAVE_ARCH_THING",
                                        "CONFIG_KVM_GUEST", "CONFIG_X86_DEBUG_THING"}));
  auto arm = tree_kconfig_symbols(dir, "arm64");
  EXPECT_TRUE(arm.count("CONFIG_ARM64_THING"));
  EXPECT_FALSE(arm.count("CONFIG_KVM_GUEST"));
  std::filesystem::remove_all(dir);
}

// The 6.12 case: CONFIG_BASE_FULL was removed (its features are always
// there); a request for it is not applicable, not lost. A symbol the tree
// defines whose dependencies are unmet stays lost.
TEST(Kconfig, UndefinedSymbolsAreNotApplicable) {
  auto requested = parse_kconfig("CONFIG_BASE_FULL=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_MEMCG_V1=y\n",
                                 "configs/kernel/base.config");
  auto lost = lost_symbols(requested, {});
  auto split = split_not_applicable(lost, {"CONFIG_VIRTIO_BLK", "CONFIG_MEMCG_V1"});
  ASSERT_EQ(split.lost.size(), 2u);
  EXPECT_EQ(split.lost[0].symbol, "CONFIG_VIRTIO_BLK");
  EXPECT_EQ(split.lost[1].symbol, "CONFIG_MEMCG_V1");
  ASSERT_EQ(split.not_applicable.size(), 1u);
  EXPECT_EQ(split.not_applicable[0].symbol, "CONFIG_BASE_FULL");
  EXPECT_EQ(describe_not_applicable(split.not_applicable),
            "config: not in this tree (not applicable): CONFIG_BASE_FULL "
            "(configs/kernel/base.config:1)");
  EXPECT_EQ(describe_not_applicable({}), "");
}

}  // namespace
}  // namespace kh
