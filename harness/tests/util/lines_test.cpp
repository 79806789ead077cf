#include "util/lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kh {
namespace {

std::vector<std::string> feed_all(LineSplitter& s, const std::vector<std::string>& chunks) {
  std::vector<std::string> lines;
  for (const auto& c : chunks) s.feed(c, [&](const std::string& l) { lines.push_back(l); });
  return lines;
}

TEST(LineSplitterTest, LinesSplitAcrossChunksComeWholeWithoutTheirEnds) {
  LineSplitter s;
  auto lines = feed_all(s, {"[    0.0] Linux ver", "sion 6.1\r\n[    0.1] ", "Command line\r", "\nBUG: x\nrest"});
  EXPECT_EQ(lines, (std::vector<std::string>{"[    0.0] Linux version 6.1", "[    0.1] Command line",
                                             "BUG: x"}));
  EXPECT_EQ(s.pending(), "rest");
}

TEST(LineSplitterTest, EmptyLinesAreLinesAndALoneCarriageReturnStays) {
  LineSplitter s;
  auto lines = feed_all(s, {"\n\r\na\rb\n"});
  EXPECT_EQ(lines, (std::vector<std::string>{"", "", "a\rb"}));
  EXPECT_EQ(s.pending(), "");
}

}  // namespace
}  // namespace kh
