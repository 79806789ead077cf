// Kconfig fragments and .config files: a pure parser and the check that
// every symbol a fragment asks for survived the merge. Kconfig silently drops
// a request whose dependencies are unmet (CONFIG_VIRTIO_BLK without
// CONFIG_BLK_DEV), so kharness compares the final .config with the requests
// itself instead of trusting merge_config.sh's warnings.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kh {

// One assignment: "CONFIG_X=value", or "# CONFIG_X is not set" (value "n").
struct ConfigSetting {
  std::string symbol;  // with the CONFIG_ prefix: "CONFIG_MEMCG"
  std::string value;   // as written: "y", "m", "n", "-1", "0x10", "\"text\""
  std::string origin;  // the file, for messages: "configs/kernel/debug.config"
  int line = 0;        // 1-based
};

// Parses fragment or .config text. Comments, blank lines and anything that is
// not an assignment are skipped; values keep their quotes.
std::vector<ConfigSetting> parse_kconfig(std::string_view text, const std::string& origin);

// symbol -> value of a parsed .config; "n" for "is not set".
std::map<std::string, std::string> config_values(const std::vector<ConfigSetting>& settings);

// The requests, in merge order, that the final .config does not honour. Only
// the last request for a symbol counts (a later fragment may override an
// earlier one). A symbol absent from the final .config counts as "n".
std::vector<ConfigSetting> lost_symbols(const std::vector<ConfigSetting>& requested,
                                        const std::map<std::string, std::string>& final_config);

// "config: 2 symbols lost in the merge: CONFIG_FOO=y (configs/kernel/debug.config:3), ..."
// ("# CONFIG_X is not set" requests are shown as CONFIG_X=n). Empty for none.
std::string describe_lost(const std::vector<ConfigSetting>& lost);

// The symbols a Kconfig file defines ("config FOO" / "menuconfig FOO"
// lines, indented or not), with the CONFIG_ prefix. Pure.
std::set<std::string> kconfig_definitions(std::string_view kconfig_text);

// Every symbol the tree at `src` defines for `kernel_arch` ("x86", "arm64"):
// the definitions in all of its Kconfig* files except those under other
// arches' arch/<name>/ folders. A superset of what the arch can select: a
// symbol that depends on another arch is still "defined" (and a request
// for it is then lost, as it should be). Reads the tree, about 1,700 files.
std::set<std::string> tree_kconfig_symbols(const std::filesystem::path& src,
                                           std::string_view kernel_arch);

// Splits lost requests into those the tree defines (truly lost: the merge
// could not honour them) and those it does not define at all (not
// applicable to this tree: a symbol that was removed because what it
// guarded is always there, like CONFIG_BASE_FULL or CONFIG_MEMCG_KMEM
// (both in 6.1, both gone by 6.12), or one that does not exist yet, like
// CONFIG_MEMCG_V1 before 6.11). Order is kept in both.
struct LostSplit {
  std::vector<ConfigSetting> lost;
  std::vector<ConfigSetting> not_applicable;
};
LostSplit split_not_applicable(const std::vector<ConfigSetting>& lost,
                               const std::set<std::string>& defined);

// "config: not in this tree (not applicable): CONFIG_BASE_FULL (configs/kernel/base.config:33), ..."
// Empty for none.
std::string describe_not_applicable(const std::vector<ConfigSetting>& not_applicable);

}  // namespace kh
