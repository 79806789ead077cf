#include "core/yaml_util.h"

#include <fmt/format.h>

#include "util/error.h"

namespace kh::yaml {

std::string where(const std::string& origin, const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return origin;
  return fmt::format("{}:{}:{}", origin, m.line + 1, m.column + 1);
}

void fail(const std::string& origin, const YAML::Node& node, const std::string& what) {
  throw InputError(fmt::format("{}: {}", where(origin, node), what));
}

YAML::Node load(const std::string& text, const std::string& origin) {
  try {
    YAML::Node n = YAML::Load(text);
    if (!n.IsDefined() || n.IsNull()) throw InputError(fmt::format("{}: empty document", origin));
    return n;
  } catch (const YAML::ParserException& e) {
    throw InputError(fmt::format("{}:{}:{}: malformed YAML: {}", origin, e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
  }
}

void expect_map(const std::string& origin, const YAML::Node& node, const std::string& what) {
  if (!node.IsMap()) fail(origin, node, fmt::format("expected {} as a mapping (key: value)", what));
}

void check_keys(const std::string& origin, const YAML::Node& map,
                std::initializer_list<const char*> allowed) {
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* a : allowed) ok |= key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(origin, kv.first, fmt::format("unknown key '{}' (expected one of: {})", key, list));
    }
  }
}

std::string scalar(const std::string& origin, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) fail(origin, node, fmt::format("expected {} as a single value", what));
  return node.as<std::string>();
}

int integer(const std::string& origin, const YAML::Node& node, const std::string& what, int min,
            int max) {
  std::string s = scalar(origin, node, what);
  try {
    std::size_t used = 0;
    long v = std::stol(s, &used);
    if (used == s.size() && v >= min && v <= max) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  fail(origin, node,
       fmt::format("expected {} as a whole number from {} to {}, got '{}'", what, min, max, s));
}

std::vector<std::string> string_list(const std::string& origin, const YAML::Node& node,
                                     const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
    return out;
  }
  if (!node.IsSequence()) fail(origin, node, fmt::format("expected {} as a list", what));
  for (const auto& item : node) out.push_back(scalar(origin, item, what));
  return out;
}

}  // namespace kh::yaml
