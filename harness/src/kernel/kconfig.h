// Kconfig fragments and .config files: a pure parser and the check that
// every symbol a fragment asks for survived the merge. Kconfig silently drops
// a request whose dependencies are unmet (CONFIG_VIRTIO_BLK without
// CONFIG_BLK_DEV), so kharness compares the final .config with the requests
// itself instead of trusting merge_config.sh's warnings.
#pragma once

#include <map>
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

}  // namespace kh
