// Helpers for strict YAML reading: every error names file:line:col and what
// was expected; unknown keys are errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

namespace kh::yaml {

// What load() accepts. yaml-cpp recurses once per nesting level (and, past
// its own guard, a deep file used to take kharness down), so the text is
// measured before yaml-cpp sees it. A job or workload file is a few KiB
// and nests fewer than 10 levels.
inline constexpr std::size_t kMaxBytes = 1 << 20;  // messages say "1 MiB"
inline constexpr int kMaxDepth = 64;

// Reads a YAML file kharness is given (a job, a workload): false when it
// does not exist; throws InputError "<path>:1:1: ..." when it is larger than
// kMaxBytes, before reading it.
bool read_file_if_exists(const std::filesystem::path& path, std::string& text);

// "<origin>:<line>:<col>" (1-based) for a node.
std::string where(const std::string& origin, const YAML::Node& node);
// Throws InputError "<where>: <what>", on one line (line breaks in `what`,
// which may quote the user's text, are shown as \n).
[[noreturn]] void fail(const std::string& origin, const YAML::Node& node, const std::string& what);

// Parses text. Throws InputError "<origin>:<line>:<col>: ..." for text
// larger than kMaxBytes or nested deeper than kMaxDepth (checked before
// parsing), malformed YAML, an empty document, a second document, a key
// that is not a plain value (a list, a mapping, an alias, nothing) and a
// key given twice in one mapping (naming the line of the first).
YAML::Node load(const std::string& text, const std::string& origin);

// An upper bound of how deep `text` nests (block indentation, compact
// "- - x" entries and flow brackets, outside quotes, comments and block
// scalars), and where it first passes `limit`. For load(); exposed for tests.
struct Nesting {
  int depth = 0;  // the deepest level seen (stops growing past limit)
  int line = 0;   // 1-based position where depth first exceeded limit; 0: never
  int column = 0;
};
Nesting measure_nesting(const std::string& text, int limit);

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
