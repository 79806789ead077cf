#include "kernel/source.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// Real git, counting the commands.
class CountingRunner : public RealProcessRunner {
 public:
  int runs = 0;
  ProcessResult run(const Command& cmd) override {
    ++runs;
    return RealProcessRunner::run(cmd);
  }
};

using test::git;

class GitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo = tmp.path() / "linux";
    fs::copy(test::data_path("kernel/fake-tree"), repo, fs::copy_options::recursive);
    git(repo, {"init", "-q"});
    git(repo, {"add", "-A"});
    git(repo, {"commit", "-qm", "base"});
    git(repo, {"tag", "v1"});
    write_file(repo / "README", "later work\n");
    git(repo, {"add", "-A"});
    git(repo, {"commit", "-qm", "later"});
    spec.name = "dev";
    spec.source.kind = SourceSpec::Kind::git;
    spec.source.path = "linux";
    spec.source.ref = "v1";
  }
  ScopedTempDir tmp{"kh-source"};
  fs::path repo;
  KernelSpec spec;
  CountingRunner runner;
  QuietStatus status;
};

TEST_F(GitSourceTest, IdentityIsTheTreeOfTheRef) {
  fs::path src = resolve_source(spec, tmp.path());
  EXPECT_EQ(src, repo);
  EXPECT_EQ(source_identity(spec, src, runner, tmp.path() / "cache"),
            "git:" + git(repo, {"rev-parse", "v1^{tree}"}));
}

TEST_F(GitSourceTest, CommitIsTheRefsCommitAndTarballsHaveNone) {
  EXPECT_EQ(source_commit(spec, repo, runner), git(repo, {"rev-parse", "v1^{commit}"}));
  EXPECT_NE(source_commit(spec, repo, runner), git(repo, {"rev-parse", "HEAD"}));
  spec.source.ref = "v9";
  EXPECT_THROW(source_commit(spec, repo, runner), InputError);
  KernelSpec tarball;
  tarball.source.kind = SourceSpec::Kind::tarball;
  EXPECT_EQ(source_commit(tarball, repo, runner), "");
}

TEST_F(GitSourceTest, UnknownRefIsAnInputError) {
  spec.source.ref = "v9";
  try {
    source_identity(spec, repo, runner, tmp.path() / "cache");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "kernel 'dev': source " + repo.string() + ": no git ref 'v9'");
  }
}

TEST_F(GitSourceTest, WorktreeIsPatchedAndTheCheckoutUntouched) {
  std::string head = git(repo, {"rev-parse", "HEAD"});
  Series series = load_series("good", test::data_path("kernel/good-series"));
  fs::path root = tmp.path() / "cache/trees/t1";
  fs::path src = prepare_tree(spec, repo, &series, root, runner, status);
  EXPECT_EQ(src, root / "src");
  EXPECT_TRUE(fs::exists(root / "complete"));
  EXPECT_FALSE(fs::exists(src / "README"));  // checked out at v1, not HEAD
  EXPECT_NE(read_file(src / "init/main.c").find("kharness-marker"), std::string::npos);
  // The user's checkout: same HEAD, no changes.
  EXPECT_EQ(git(repo, {"rev-parse", "HEAD"}), head);
  EXPECT_EQ(git(repo, {"status", "--porcelain"}), "");
  EXPECT_EQ(read_file(repo / "init/main.c").find("kharness-marker"), std::string::npos);
  // A complete tree is reused without running anything.
  runner.runs = 0;
  EXPECT_EQ(prepare_tree(spec, repo, &series, root, runner, status), src);
  EXPECT_EQ(runner.runs, 0);
}

TEST_F(GitSourceTest, IncompleteWorktreeIsRedone) {
  fs::path root = tmp.path() / "cache/trees/t2";
  prepare_tree(spec, repo, nullptr, root, runner, status);
  fs::remove(root / "complete");  // as if interrupted
  write_file(root / "src/stray", "half");
  fs::path src = prepare_tree(spec, repo, nullptr, root, runner, status);
  EXPECT_FALSE(fs::exists(src / "stray"));
  EXPECT_TRUE(fs::exists(root / "complete"));
}

TEST(TarballSource, IdentityIsMemoisedAndFollowsTheFile) {
  ScopedTempDir tmp("kh-source");
  write_file(tmp.path() / "linux.tar", "one");
  KernelSpec spec;
  spec.name = "k";
  spec.source.path = tmp.path() / "linux.tar";
  CountingRunner runner;
  std::string id = source_identity(spec, spec.source.path, runner, tmp.path() / "cache");
  // `printf one | sha256sum`
  EXPECT_EQ(id, "tarball:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed");
  EXPECT_EQ(runner.runs, 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path() / "cache/source-ids"),
                          fs::directory_iterator()),
            1);
  EXPECT_EQ(source_identity(spec, spec.source.path, runner, tmp.path() / "cache"), id);
  write_file(tmp.path() / "linux.tar", "two!");  // size (and mtime) change
  EXPECT_NE(source_identity(spec, spec.source.path, runner, tmp.path() / "cache"), id);
}

TEST(TarballSource, MissingSourceIsAnInputError) {
  KernelSpec spec;
  spec.name = "linux-6.1";
  spec.source.path = "gone/linux.tar.xz";
  try {
    resolve_source(spec, "/jobs");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "kernel 'linux-6.1': source /jobs/gone/linux.tar.xz: no such file");
  }
}

}  // namespace
}  // namespace kh
