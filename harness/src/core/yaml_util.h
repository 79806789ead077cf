// Helpers for strict YAML reading: every error names file:line:col and what
// was expected; unknown keys are errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace kh::yaml {

// "<origin>:<line>:<col>" (1-based) for a node.
std::string where(const std::string& origin, const YAML::Node& node);
[[noreturn]] void fail(const std::string& origin, const YAML::Node& node, const std::string& what);

// Parses text; a syntax error becomes InputError with the position.
YAML::Node load(const std::string& text, const std::string& origin);

void expect_map(const std::string& origin, const YAML::Node& node, const std::string& what);
// Rejects keys not in `allowed`, listing the allowed ones.
void check_keys(const std::string& origin, const YAML::Node& map,
                std::initializer_list<const char*> allowed);
std::string scalar(const std::string& origin, const YAML::Node& node, const std::string& what);
int integer(const std::string& origin, const YAML::Node& node, const std::string& what, int min,
            int max);
std::vector<std::string> string_list(const std::string& origin, const YAML::Node& node,
                                     const std::string& what);

}  // namespace kh::yaml
