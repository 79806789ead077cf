#include "kernel/tree_snapshot.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

using test::git;

class TreeSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ensure_dir(repo / "mm");
    git(repo, {"init", "-q"});
    write_file(repo / "mm/memcontrol.c", "v1\n");
    write_file(repo / ".gitignore", "*.o\n");
    git(repo, {"add", "-A"});
    git(repo, {"commit", "-qm", "one"});
    head = git(repo, {"rev-parse", "HEAD"});
  }
  std::string snapshot() { return snapshot_worktree(repo, tmp.path() / "work", runner); }
  // `file` when the commit's tree has it, else "".
  std::string in_tree(const std::string& commit, const std::string& file) {
    return git(repo, {"ls-tree", "-r", "--name-only", commit, "--", file});
  }
  std::string show(const std::string& commit, const std::string& file) {
    return git(repo, {"show", commit + ":" + file});
  }

  ScopedTempDir tmp{"kh-snapshot"};
  fs::path repo = tmp.path() / "linux";
  RealProcessRunner runner;
  std::string head;
};

TEST_F(TreeSnapshotTest, AnUnchangedTreeIsHeadItself) {
  EXPECT_EQ(snapshot(), head);
}

TEST_F(TreeSnapshotTest, EditsAndNewFilesAreInTheCommitAndNothingOfTheUsersMoves) {
  write_file(repo / "mm/memcontrol.c", "v2\n");
  write_file(repo / "mm/new.c", "new\n");
  write_file(repo / "mm/memcontrol.o", "object\n");  // ignored: not in the snapshot
  std::string status_before = git(repo, {"status", "--porcelain"});

  std::string commit = snapshot();
  EXPECT_NE(commit, head);
  EXPECT_EQ(show(commit, "mm/memcontrol.c"), "v2");
  EXPECT_EQ(show(commit, "mm/new.c"), "new");
  EXPECT_EQ(in_tree(commit, "mm/memcontrol.o"), "") << "ignored files stay out";
  EXPECT_EQ(git(repo, {"rev-parse", commit + "^"}), head);
  // The user's HEAD, index and files are as they were.
  EXPECT_EQ(git(repo, {"rev-parse", "HEAD"}), head);
  EXPECT_EQ(git(repo, {"status", "--porcelain"}), status_before);
  // The same tree again: the same commit (fixed identity and date), so the
  // artifact cache finds the kernel built from it.
  EXPECT_EQ(snapshot(), commit);
}

TEST_F(TreeSnapshotTest, ADeletedFileIsGoneFromTheSnapshot) {
  fs::remove(repo / "mm/memcontrol.c");
  std::string commit = snapshot();
  EXPECT_EQ(in_tree(commit, "mm/memcontrol.c"), "");
}

TEST_F(TreeSnapshotTest, AFolderThatIsNoWorkTreeTopIsAnInputErrorNamingIt) {
  try {
    snapshot_worktree(repo / "mm", tmp.path() / "work", runner);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("linux/mm: not the top folder of a git work tree"),
              std::string::npos)
        << e.what();
  }
  ScopedTempDir plain("kh-plain");
  EXPECT_THROW(snapshot_worktree(plain.path(), tmp.path() / "work", runner), InputError);
}

}  // namespace
}  // namespace kh
