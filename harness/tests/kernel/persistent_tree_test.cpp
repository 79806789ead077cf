#include <gtest/gtest.h>

#include <thread>

#include "kernel/source.h"
#include "test_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

using test::git;

TEST(PersistentTree, ChecksOutEachCommitInOneWorktreeTouchingOnlyWhatChanged) {
  ScopedTempDir tmp("kh-persistent");
  fs::path repo = tmp.path() / "linux";
  ensure_dir(repo / "mm");
  git(repo, {"init", "-q"});
  write_file(repo / "mm/memcontrol.c", "v1\n");
  write_file(repo / "Makefile", "all:\n");
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-qm", "one"});
  write_file(repo / "mm/memcontrol.c", "v2\n");
  git(repo, {"commit", "-qam", "two"});
  std::string head = git(repo, {"rev-parse", "HEAD"});

  RealProcessRunner runner;
  QuietStatus status;
  std::string id = persistent_tree_id(repo, runner);
  EXPECT_EQ(id.rfind("wt-", 0), 0u);
  EXPECT_EQ(persistent_tree_id(repo / "mm", runner), id);  // the repository, not the folder
  fs::path src = tmp.path() / "cache/trees" / id / "src";

  checkout_persistent_tree(repo, src, "HEAD~1", runner, status);
  EXPECT_EQ(read_file(src / "mm/memcontrol.c"), "v1\n");
  auto makefile_time = fs::last_write_time(src / "Makefile");
  auto before = fs::last_write_time(src / "mm/memcontrol.c");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  checkout_persistent_tree(repo, src, head, runner, status);
  EXPECT_EQ(read_file(src / "mm/memcontrol.c"), "v2\n");
  EXPECT_EQ(git(src, {"rev-parse", "HEAD"}), head);
  EXPECT_EQ(fs::last_write_time(src / "Makefile"), makefile_time);  // make keeps its objects
  EXPECT_GT(fs::last_write_time(src / "mm/memcontrol.c"), before);
  // The user's checkout stays where it was.
  EXPECT_EQ(git(repo, {"rev-parse", "HEAD"}), head);
  EXPECT_EQ(read_file(repo / "mm/memcontrol.c"), "v2\n");

  // A broken worktree folder is made again.
  fs::remove_all(src / ".git");
  checkout_persistent_tree(repo, src, "HEAD~1", runner, status);
  EXPECT_EQ(read_file(src / "mm/memcontrol.c"), "v1\n");
  EXPECT_THROW(checkout_persistent_tree(repo, src, "nope", runner, status), InputError);
}

}  // namespace
}  // namespace kh
