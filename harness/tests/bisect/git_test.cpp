#include "bisect/git.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

using test::git;

class BisectGitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo = tmp.path() / "repo";
    ensure_dir(repo);
    git(repo, {"init", "-q"});
    for (int i = 0; i < 4; ++i) {
      write_file(repo / "file", fmt::format("line {}\n", i));
      git(repo, {"add", "-A"});
      git(repo, {"commit", "-qm", fmt::format("change {}", i)});
    }
  }
  ScopedTempDir tmp{"kh-bisect-git"};
  fs::path repo;
  RealProcessRunner runner;
};

TEST_F(BisectGitTest, FirstParentPathIsOldestFirstAndEndsAtBad) {
  Commit good = resolve_commit(repo, "HEAD~3", "--good", runner);
  Commit bad = resolve_commit(repo, "HEAD", "--bad", runner);
  EXPECT_EQ(good.subject, "change 0");
  auto path = first_parent_path(repo, good, bad, runner);
  ASSERT_EQ(path.size(), 3u);
  EXPECT_EQ(path[0].subject, "change 1");
  EXPECT_EQ(path[2].sha, bad.sha);
  EXPECT_THROW(first_parent_path(repo, bad, good, runner), InputError);
  EXPECT_THROW(resolve_commit(repo, "v9", "--good", runner), InputError);
}

TEST_F(BisectGitTest, CommitSeriesLeavesTheCheckoutAloneAndIsDeterministic) {
  fs::path series_dir = tmp.path() / "series";
  ensure_dir(series_dir);
  write_file(series_dir / "0001-a.patch",
             "Subject: [PATCH 1/2] file: line four\n---\n"
             "diff --git a/file b/file\n--- a/file\n+++ b/file\n@@ -1 +1 @@\n-line 3\n+line 4\n");
  write_file(series_dir / "0002-b.patch",
             "diff --git a/other b/other\nnew file mode 100644\n--- /dev/null\n+++ b/other\n"
             "@@ -0,0 +1 @@\n+new\n");
  write_file(series_dir / "series", "0001-a.patch\n0002-b.patch\n");
  Series s = load_series("t", series_dir);
  std::string head = git(repo, {"rev-parse", "HEAD"});
  Commit base = resolve_commit(repo, "HEAD", "--base", runner);
  auto commits = commit_series(repo, base, s, tmp.path() / "work", runner);
  ASSERT_EQ(commits.size(), 2u);
  EXPECT_EQ(commits[0].subject, "file: line four");
  EXPECT_EQ(commits[0].label, "0001-a.patch");
  EXPECT_EQ(commits[1].subject, "0002-b.patch");  // no Subject: line
  EXPECT_EQ(git(repo, {"show", commits[1].sha + ":file"}), "line 4");
  EXPECT_EQ(git(repo, {"show", commits[1].sha + ":other"}), "new");
  EXPECT_EQ(git(repo, {"rev-parse", commits[1].sha + "~2"}), head);
  // The user's checkout, index and HEAD are as they were.
  EXPECT_EQ(git(repo, {"rev-parse", "HEAD"}), head);
  EXPECT_EQ(git(repo, {"status", "--porcelain"}), "");
  auto again = commit_series(repo, base, s, tmp.path() / "work2", runner);
  EXPECT_EQ(again[1].sha, commits[1].sha);
}

TEST_F(BisectGitTest, APatchThatDoesNotApplyNamesItself) {
  fs::path series_dir = tmp.path() / "bad";
  ensure_dir(series_dir);
  write_file(series_dir / "0001-x.patch",
             "diff --git a/file b/file\n--- a/file\n+++ b/file\n@@ -1 +1 @@\n-nope\n+x\n");
  write_file(series_dir / "series", "0001-x.patch\n");
  Commit base = resolve_commit(repo, "HEAD", "--base", runner);
  try {
    commit_series(repo, base, load_series("bad", series_dir), tmp.path() / "w", runner);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("patch 0001-x.patch does not apply"), std::string::npos)
        << e.what();
  }
}

TEST(PatchSubject, StripsThePatchPrefix) {
  EXPECT_EQ(patch_subject("From x\nSubject: [PATCH v2 3/9] mm: a b\n\nbody", "f.patch"), "mm: a b");
  EXPECT_EQ(patch_subject("Subject: plain\n", "f.patch"), "plain");
  EXPECT_EQ(patch_subject("diff --git a/x b/x\n", "f.patch"), "f.patch");
}

}  // namespace
}  // namespace kh
