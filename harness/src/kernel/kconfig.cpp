#include "kernel/kconfig.h"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "util/text.h"

namespace kh {
namespace {

bool is_symbol(std::string_view s) {
  if (s.size() <= 7 || s.substr(0, 7) != "CONFIG_") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

}  // namespace

std::vector<ConfigSetting> parse_kconfig(std::string_view text, const std::string& origin) {
  std::vector<ConfigSetting> out;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line.front() == '#') {
      // "# CONFIG_X is not set"
      std::string_view rest = trim(line.substr(1));
      constexpr std::string_view kNotSet = " is not set";
      if (rest.size() > kNotSet.size() && rest.substr(rest.size() - kNotSet.size()) == kNotSet) {
        std::string_view sym = rest.substr(0, rest.size() - kNotSet.size());
        if (is_symbol(sym)) out.push_back({std::string(sym), "n", origin, line_no});
      }
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view sym = trim(line.substr(0, eq));
    if (!is_symbol(sym)) continue;
    out.push_back({std::string(sym), std::string(trim(line.substr(eq + 1))), origin, line_no});
  }
  return out;
}

std::map<std::string, std::string> config_values(const std::vector<ConfigSetting>& settings) {
  std::map<std::string, std::string> out;
  for (const auto& s : settings) out[s.symbol] = s.value;
  return out;
}

std::vector<ConfigSetting> lost_symbols(const std::vector<ConfigSetting>& requested,
                                        const std::map<std::string, std::string>& final_config) {
  // Keep the last request per symbol, reported in the order of those requests.
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < requested.size(); ++i) last[requested[i].symbol] = i;
  std::vector<ConfigSetting> lost;
  for (size_t i = 0; i < requested.size(); ++i) {
    const auto& r = requested[i];
    if (last[r.symbol] != i) continue;
    auto it = final_config.find(r.symbol);
    std::string have = it == final_config.end() ? "n" : it->second;
    if (have != r.value) lost.push_back(r);
  }
  return lost;
}

std::string describe_lost(const std::vector<ConfigSetting>& lost) {
  if (lost.empty()) return {};
  std::string out = fmt::format("config: {} symbol{} lost in the merge: ", lost.size(),
                                lost.size() == 1 ? "" : "s");
  for (size_t i = 0; i < lost.size(); ++i) {
    if (i) out += ", ";
    out +=
        fmt::format("{}={} ({}:{})", lost[i].symbol, lost[i].value, lost[i].origin, lost[i].line);
  }
  return out;
}

std::set<std::string> kconfig_definitions(std::string_view text) {
  std::set<std::string> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    for (std::string_view keyword : {std::string_view("config"), std::string_view("menuconfig")}) {
      if (line.size() <= keyword.size() || line.substr(0, keyword.size()) != keyword) continue;
      char sep = line[keyword.size()];
      if (sep != ' ' && sep != '\t') continue;
      std::string_view name = trim(line.substr(keyword.size()));
      size_t end = 0;
      while (end < name.size() &&
             (std::isalnum(static_cast<unsigned char>(name[end])) || name[end] == '_'))
        ++end;
      if (end > 0) out.insert("CONFIG_" + std::string(name.substr(0, end)));
    }
  }
  return out;
}

std::set<std::string> tree_kconfig_symbols(const std::filesystem::path& src,
                                           std::string_view kernel_arch) {
  namespace fs = std::filesystem;
  std::set<std::string> out;
  const fs::path arch_root = src / "arch";
  fs::recursive_directory_iterator it(src, fs::directory_options::skip_permission_denied), end;
  for (; it != end; ++it) {
    const fs::path& p = it->path();
    if (it->is_directory()) {
      std::string name = p.filename().string();
      // Other arches, and folders no Kconfig lives in (git metadata, build
      // outputs someone put inside the tree).
      bool other_arch = p.parent_path() == arch_root && name != kernel_arch;
      if (other_arch || name == ".git" || name == "Documentation") it.disable_recursion_pending();
      continue;
    }
    if (p.filename().string().rfind("Kconfig", 0) != 0) continue;
    std::ifstream in(p, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    auto defs = kconfig_definitions(buf.str());
    out.insert(defs.begin(), defs.end());
  }
  return out;
}

LostSplit split_not_applicable(const std::vector<ConfigSetting>& lost,
                               const std::set<std::string>& defined) {
  LostSplit out;
  for (const auto& c : lost) (defined.count(c.symbol) ? out.lost : out.not_applicable).push_back(c);
  return out;
}

std::string describe_not_applicable(const std::vector<ConfigSetting>& na) {
  if (na.empty()) return {};
  std::string out = "config: not in this tree (not applicable): ";
  for (size_t i = 0; i < na.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("{} ({}:{})", na[i].symbol, na[i].origin, na[i].line);
  }
  return out;
}

}  // namespace kh
