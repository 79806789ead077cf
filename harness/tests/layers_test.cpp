// The folders of harness/src are layers (ARCHITECTURE.md, "Layers"): a file
// includes its own folder and the layers below, never a sibling or a layer
// above. This reads every #include "folder/..." and holds the code to it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "build_info.h"

namespace kh {
namespace {

// Bottom to top; folders of one rank are siblings.
const std::map<std::string, int> kRank = {
    {"util", 0},   {"core", 1},   {"analysis", 2}, {"kernel", 3}, {"image", 3}, {"vm", 3},
    {"report", 4}, {"engine", 5}, {"history", 6},  {"bisect", 6}, {"cli", 7},
};

TEST(LayersTest, NoFolderIncludesASiblingOrAHigherOne) {
  const std::filesystem::path src = std::filesystem::path(KHARNESS_SOURCE_DIR) / "harness/src";
  const std::regex include_re(R"re(^#include "([a-z_]+)/)re");
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    const auto rel = e.path().lexically_relative(src);
    if (rel.begin() == rel.end() || std::next(rel.begin()) == rel.end()) continue;  // main.cpp
    const std::string folder = rel.begin()->string();
    ASSERT_TRUE(kRank.count(folder)) << folder << "/ has no layer: add it to kRank and "
                                     << "ARCHITECTURE.md";
    ++files;
    std::ifstream in(e.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (!std::regex_search(line, m, include_re)) continue;
      const std::string to = m[1];
      if (to == folder || !kRank.count(to)) continue;
      EXPECT_LT(kRank.at(to), kRank.at(folder)) << rel.string() << ": " << line;
    }
  }
  EXPECT_GT(files, 50);
}

}  // namespace
}  // namespace kh
