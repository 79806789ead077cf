#include "core/yaml_util.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "util/error.h"
#include "util/files.h"

namespace kh::yaml {
namespace {

std::string error_of(const std::string& text) {
  try {
    load(text, "f.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

int depth(const std::string& text) {
  return measure_nesting(text, 1000).depth;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(MeasureNesting, BlockAndFlowLevels) {
  EXPECT_EQ(depth("a: 1\nb: 2\n"), 1);
  EXPECT_EQ(depth("a:\n  b:\n    c: 1\n"), 3);
  EXPECT_EQ(depth("a:\n  b:\n    c: 1\nd: 2\n"), 3);
  EXPECT_EQ(depth("- - - x\n"), 3);
  EXPECT_EQ(depth("- a: 1\n  b: [1, [2, {c: 3}]]\n"), 5);
  EXPECT_EQ(depth(repeat("[", 10) + repeat("]", 10)), 10);
  // The levels close again: two siblings are no deeper than one.
  EXPECT_EQ(depth("a: [[1]]\nb: [[2]]\n"), 3);
}

TEST(MeasureNesting, TextInsideScalarsAndCommentsIsNotStructure) {
  EXPECT_EQ(depth("a: '[[[[[['\nb: \"{{{{\\\"{{\"\n"), 1);
  EXPECT_EQ(depth("a: x # [[[[[[\n"), 1);
  EXPECT_EQ(depth("script: |\n  - - - - [[[[\n      - {{{{\n  'open\nnext: 1\n"), 1);
  // A plain scalar's continuation line may start with a quote: it is text,
  // and what follows is structure again.
  EXPECT_EQ(depth("a: text\n  'more\nb: [[[1]]]\n"), 4);
  // A quote inside a plain scalar is text too.
  EXPECT_EQ(depth("a: it's\nb: [[1]]\n"), 3);
}

TEST(MeasureNesting, ReportsWhereTheLimitIsPassed) {
  Nesting n = measure_nesting("a:\n  b: [[[1]]]\n", 3);
  EXPECT_EQ(n.line, 2);
  EXPECT_EQ(n.column, 7);
  EXPECT_EQ(measure_nesting("a:\n  b: [[[1]]]\n", 5).line, 0);
}

// Each shape yaml-cpp would otherwise recurse into, 5000 levels deep: one
// line naming the place, before yaml-cpp sees it.
TEST(YamlLoad, DeepNestingIsRefusedBeforeParsing) {
  // (Block nesting costs a line per level and the indentation grows: 800
  // levels stay under the size limit and above yaml-cpp's guard of 500.)
  std::string block;
  for (int i = 0; i < 800; ++i) block += std::string(i, ' ') + "a:\n";
  std::string dashes;
  for (int i = 0; i < 800; ++i) dashes += std::string(2 * i, ' ') + "- k:\n";
  for (const std::string& text :
       {"a: " + repeat("[", 5000) + repeat("]", 5000) + "\n", "a: " + repeat("{b: ", 5000) + "\n",
        repeat("- ", 5000) + "x\n", repeat("? ", 5000) + "x\n", block, dashes,
        "k: " + repeat("[", 100000)}) {
    std::string e = error_of(text);
    EXPECT_EQ(e.rfind("f.yaml:", 0), 0u) << e;
    EXPECT_NE(e.find("nested deeper than 64 levels"), std::string::npos) << e;
  }
  EXPECT_EQ(error_of(repeat("[", 64) + repeat("]", 64)), "(no error)");
  EXPECT_NE(error_of(repeat("[", 65) + repeat("]", 65)), "(no error)");
}

TEST(YamlLoad, LargeFilesAreRefusedNamingTheLine) {
  std::string text;
  while (text.size() <= kMaxBytes) text += "# " + std::string(98, 'x') + "\n";
  std::string e = error_of("a: 1\n" + text);
  // a: 1, then 101-byte lines: byte 1 MiB + 1 is on line 2 + (2^20 - 5) / 101.
  EXPECT_EQ(e, fmt::format("f.yaml:{}:1: the file goes past 1 MiB here; kharness reads YAML "
                           "files of up to 1 MiB",
                           2 + (kMaxBytes - 5) / 101));

  ScopedTempDir tmp("kh-yaml");
  write_file(tmp.path() / "big.yaml", text);
  std::string out;
  try {
    read_file_if_exists(tmp.path() / "big.yaml", out);
    FAIL();
  } catch (const InputError& err) {
    EXPECT_EQ(std::string(err.what()),
              fmt::format("{}:1:1: the file is {} bytes; kharness reads YAML files of up to 1 MiB",
                          (tmp.path() / "big.yaml").string(), text.size()));
  }
  EXPECT_FALSE(read_file_if_exists(tmp.path() / "none.yaml", out));
}

TEST(YamlLoad, DuplicateKeysNameBothLines) {
  EXPECT_EQ(error_of("name: a\nrepeats: 2\nrepeats: 3\n"),
            "f.yaml:3:1: key 'repeats' is given twice in this mapping (first at line 2)");
  EXPECT_EQ(error_of("a:\n  b: 1\n  c: 2\n  b: 3\n"),
            "f.yaml:4:3: key 'b' is given twice in this mapping (first at line 2)");
  EXPECT_EQ(error_of("a: {x: 1, x: 2}\n"),
            "f.yaml:1:11: key 'x' is given twice in this mapping (first at line 1)");
  // The same key in two mappings is fine, and so is a value equal to a key.
  EXPECT_EQ(error_of("- {name: a}\n- {name: b}\nname: name\n").find("twice"), std::string::npos);
  EXPECT_EQ(error_of("a: {name: a}\nb: {name: b}\nname: name\n"), "(no error)");
}

TEST(YamlLoad, KeysArePlainAndTheFileIsOneDocument) {
  EXPECT_NE(error_of("[a]: 1\n").find("f.yaml:1:1: a key must be a plain name"), std::string::npos);
  EXPECT_NE(error_of("{a: 1}: 1\n").find("a key must be a plain name"), std::string::npos);
  EXPECT_NE(error_of("a: &x 1\n*x : 2\n").find("f.yaml:2:1: a key must be a plain name"),
            std::string::npos);
  EXPECT_NE(error_of(": 1\n").find("a key must be a plain name"), std::string::npos);
  EXPECT_NE(error_of("a: 1\n---\nb: 2\n").find("f.yaml:2:"), std::string::npos);
  EXPECT_NE(error_of("a: 1\n---\nb: 2\n").find("a second YAML document"), std::string::npos);
  EXPECT_EQ(error_of("---\na: 1\n...\n"), "(no error)");
  EXPECT_EQ(error_of("\n# nothing\n"), "f.yaml:1:1: empty document");
}

TEST(YamlLoad, AliasesStillWork) {
  YAML::Node n = load("a: &leak [x >= 1]\nb: *leak\n", "f.yaml");
  EXPECT_EQ(n["b"][0].as<std::string>(), "x >= 1");
  // A sequence holding itself: yaml-cpp builds the cycle; nothing here
  // walks it.
  YAML::Node self = load("a: &s [*s]\n", "f.yaml");
  EXPECT_TRUE(self["a"][0].IsSequence());
}

TEST(YamlFail, MessagesStayOnOneLine) {
  YAML::Node n = load("a: \"two\\nlines\"\n", "f.yaml");
  try {
    fail("f.yaml", n["a"], "bad value '" + n["a"].as<std::string>() + "'");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "f.yaml:1:4: bad value 'two\\nlines'");
  }
}

}  // namespace
}  // namespace kh::yaml
