#include "kernel/series.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// A copy of tests/data/kernel/fake-tree in a temp dir: a tiny "kernel".
fs::path fake_tree(const ScopedTempDir& tmp) {
  fs::path tree = tmp.path() / "tree";
  fs::copy(test::data_path("kernel/fake-tree"), tree, fs::copy_options::recursive);
  return tree;
}

TEST(Series, QuiltFileWithComments) {
  Series s = load_series("good", test::data_path("kernel/good-series"));
  ASSERT_EQ(s.patches.size(), 2u);
  EXPECT_EQ(s.patches[0].name, "0001-memcg-log-online.patch");
  EXPECT_EQ(s.patches[1].name, "0002-init-print-marker.patch");
  EXPECT_EQ(s.patches[1].path, test::data_path("kernel/good-series/0002-init-print-marker.patch"));
  EXPECT_TRUE(s.mbox.empty());
  EXPECT_EQ(s.content_files().size(), 2u);
  EXPECT_EQ(s.origin, "written for the kharness unit tests");
  EXPECT_EQ(s.expect, "a pr_debug on memcg online and a marker line at boot");
}

TEST(Series, MissingFolderIsAnInputError) {
  try {
    load_series("nope", "/nonexistent/kernel-patches/nope");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "series 'nope': /nonexistent/kernel-patches/nope: no such folder");
  }
}

TEST(Series, PatchNamedButAbsentIsAnInputErrorWithLine) {
  ScopedTempDir tmp("kh-series");
  write_file(tmp.path() / "series", "# first\n0001-missing.patch\n");
  try {
    load_series("s", tmp.path());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(
        std::string(e.what()).find("series:2: series 's': patch 0001-missing.patch: no such file"),
        std::string::npos)
        << e.what();
  }
}

TEST(Series, ResolvesNamesAndPaths) {
  Paths paths;
  paths.root = "/repo";
  EXPECT_EQ(resolve_series_dir("dying-memcg-v4", paths, "/jobs"),
            fs::path("/repo/kernel-patches/dying-memcg-v4"));
  EXPECT_EQ(resolve_series_dir("patches/mine", paths, "/jobs"), fs::path("/jobs/patches/mine"));
  EXPECT_EQ(resolve_series_dir("/abs/s", paths, "/jobs"), fs::path("/abs/s"));
}

TEST(Series, MboxIsSplitWithGitMailsplitSkippingTheCoverLetter) {
  ScopedTempDir tmp("kh-series");
  Series s = load_series("mbox", test::data_path("kernel/mbox-series"));
  EXPECT_TRUE(s.patches.empty());
  ASSERT_EQ(s.content_files().size(), 1u);
  EXPECT_EQ(s.mbox.extension(), ".mbx");
  RealProcessRunner runner;
  Series split = split_series(s, runner, tmp.path() / "split");
  ASSERT_EQ(split.patches.size(), 2u);
  EXPECT_EQ(split.patches[0].name, "0001-memcg-log-online.patch");
  EXPECT_EQ(split.patches[1].name, "0002-init-print-marker.patch");
  // The split patches apply like the quilt ones.
  fs::path tree = fake_tree(tmp);
  apply_series(split, tree, runner);
  EXPECT_NE(read_file(tree / "init/main.c").find("kharness-marker: test"), std::string::npos);
}

TEST(Series, GoodSeriesApplies) {
  ScopedTempDir tmp("kh-series");
  fs::path tree = fake_tree(tmp);
  RealProcessRunner runner;
  apply_series(load_series("good", test::data_path("kernel/good-series")), tree, runner);
  EXPECT_NE(read_file(tree / "mm/memcontrol.c").find("pr_debug(\"memcg online\\n\");"),
            std::string::npos);
  EXPECT_NE(read_file(tree / "init/main.c").find("kharness-marker"), std::string::npos);
}

TEST(Series, PatchThatDoesNotApplyNamesPatchAndHunk) {
  ScopedTempDir tmp("kh-series");
  fs::path tree = fake_tree(tmp);
  RealProcessRunner runner;
  try {
    apply_series(load_series("bad", test::data_path("kernel/bad-series")), tree, runner);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "series 'bad': patch 0002-memcg-reparent.patch does not apply: mm/memcontrol.c "
                 "hunk @@ -23,7 +23,7 @@");
  }
  // The first patch applied, the second left no half-applied hunk behind.
  std::string memcontrol = read_file(tree / "mm/memcontrol.c");
  EXPECT_NE(memcontrol.find("memcg online"), std::string::npos);
  EXPECT_EQ(memcontrol.find("return memcg_count;\n}\n\nint mem_cgroup_count"), std::string::npos);
}

TEST(Series, Slugs) {
  EXPECT_EQ(patch_slug("[PATCH v4 02/28] mm: memcontrol: reparent objcg"),
            "mm-memcontrol-reparent-objcg");
  EXPECT_EQ(patch_slug("[RFC] [PATCH] x"), "x");
  EXPECT_EQ(patch_slug(""), "patch");
}

TEST(Series, DescribeFailureWithoutHunk) {
  EXPECT_EQ(describe_apply_failure("error: mm/gone.c: No such file or directory\n", ""),
            "mm/gone.c: No such file or directory");
}

}  // namespace
}  // namespace kh
