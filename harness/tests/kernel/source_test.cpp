#include "kernel/source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "test_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// Real git, counting and recording the commands.
class CountingRunner : public RealProcessRunner {
 public:
  int runs = 0;
  std::vector<std::vector<std::string>> argvs;
  ProcessResult run(const Command& cmd) override {
    ++runs;
    argvs.push_back(cmd.argv);
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
  fs::path src = resolve_source(spec, tmp.path(), runner, tmp.path() / "cache", status);
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

// A complete tree whose files changed since (one deleted, one cut short) is
// prepared again, with one warning saying what changed.
TEST_F(GitSourceTest, DamagedTreeIsPreparedAgainWithAWarning) {
  Series series = load_series("good", test::data_path("kernel/good-series"));
  fs::path root = tmp.path() / "cache/trees/t3";
  fs::path src = prepare_tree(spec, repo, &series, root, runner, status);
  const std::string main_c = read_file(src / "init/main.c");
  EXPECT_NE(read_file(root / "complete").find("fingerprint " + tree_fingerprint(src)),
            std::string::npos);
  fs::resize_file(src / "init/main.c", 10);
  prepare_tree(spec, repo, &series, root, runner, status);
  EXPECT_EQ(read_file(src / "init/main.c"), main_c);  // whole and patched again
  EXPECT_NE(status.last_warn.find("the cached tree " + src.string() + " has "),
            std::string::npos)
      << status.last_warn;
  EXPECT_NE(status.last_warn.find("preparing it again"), std::string::npos);
  status.last_warn.clear();
  prepare_tree(spec, repo, &series, root, runner, status);  // intact: no word
  EXPECT_EQ(status.last_warn, "");
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
    RealProcessRunner runner;
    QuietStatus status;
    resolve_source(spec, "/jobs", runner, "/nonexistent-cache", status);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "kernel 'linux-6.1': source /jobs/gone/linux.tar.xz: no such file");
  }
  spec.source.path_where = "job.yaml:4:14";
  try {
    RealProcessRunner runner;
    QuietStatus status;
    resolve_source(spec, "/jobs", runner, "/nonexistent-cache", status);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "job.yaml:4:14: kernel 'linux-6.1': source /jobs/gone/linux.tar.xz: no such file");
  }
}

// The forms a developer writes: ~, a path relative to the job, and the
// mistakes (no repository, a folder inside one, a ref it lacks), each one
// line naming the job's line.
TEST_F(GitSourceTest, HomeAndRelativePathsResolve) {
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home ? old_home : "";
  ::setenv("HOME", tmp.path().c_str(), 1);
  spec.source.path = "~/linux";
  fs::path got = resolve_source(spec, "/elsewhere", runner, tmp.path() / "cache", status);
  KernelSpec tarball = spec;  // tarball paths take ~ too; ~ alone is the home folder
  tarball.source.kind = SourceSpec::Kind::tarball;
  tarball.source.path = "~";
  fs::path home = resolve_source(tarball, "/elsewhere", runner, tmp.path() / "cache", status);
  if (old_home)
    ::setenv("HOME", saved.c_str(), 1);
  else
    ::unsetenv("HOME");
  EXPECT_EQ(got, repo);
  EXPECT_EQ(home, tmp.path());
}

TEST_F(GitSourceTest, HomeWithoutRepositoryIsNamed) {
  spec.source.path = "~root/no-such-linux";
  spec.source.path_where = "job.yaml:5:12";
  try {
    resolve_source(spec, tmp.path(), runner, tmp.path() / "cache", status);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "job.yaml:5:12: kernel 'dev': source /root/no-such-linux: no such folder");
  }
}

TEST_F(GitSourceTest, ThingsThatAreNotRepositoriesAreOneLineEach) {
  spec.source.path_where = "job.yaml:5:12";
  spec.source.ref_where = "job.yaml:6:12";
  auto error = [&](const std::string& path, const std::string& ref) {
    spec.source.path = path;
    spec.source.ref = ref;
    try {
      resolve_source(spec, tmp.path(), runner, tmp.path() / "cache", status);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  ensure_dir(tmp.path() / "plain");
  EXPECT_EQ(error("plain", "v1"), "job.yaml:5:12: kernel 'dev': source " +
                                      (tmp.path() / "plain").string() + ": not a git repository");
  // A folder inside a repository would silently build the repository.
  EXPECT_EQ(error("linux/mm", "v1"), "job.yaml:5:12: kernel 'dev': source " +
                                         (repo / "mm").string() +
                                         ": not a git repository but a folder inside " +
                                         repo.string() + " (name that folder)");
  EXPECT_EQ(error("linux", "v9"), "job.yaml:6:12: kernel 'dev': source " + repo.string() +
                                      ": no branch, tag or commit 'v9'");
  EXPECT_EQ(error("linux", "v1"), "(no error)");
  EXPECT_EQ(error("linux/.git", "v1"), "(no error)") << "the git folder itself is fine";
  git(tmp.path(), {"clone", "-q", "--bare", repo.string(), "bare.git"});
  EXPECT_EQ(error("bare.git", "v1"), "(no error)") << "and so is a bare repository";
}

// A developer commits while a job builds its second arch: the job still
// builds the commit its ref named when the job began.
TEST_F(GitSourceTest, ALocalRefIsPinnedForTheProcess) {
  git(repo, {"branch", "work"});
  spec.source.ref = "work";
  const std::string at_start = git(repo, {"rev-parse", "work"});
  fs::path src = resolve_source(spec, tmp.path(), runner, tmp.path() / "cache", status);
  git(repo, {"branch", "-f", "work", "v1"});
  EXPECT_EQ(resolve_source(spec, tmp.path(), runner, tmp.path() / "cache", status), src);
  EXPECT_EQ(source_commit(spec, src, runner), at_start);
  EXPECT_EQ(source_identity(spec, src, runner, tmp.path() / "cache"),
            "git:" + git(repo, {"rev-parse", at_start + "^{tree}"}));
}

// URL sources, over file:// (this machine has no network): a bare mirror
// in the cache, cloned once and fetched later, the ref pinned per process.
class UrlSourceTest : public GitSourceTest {
 protected:
  void SetUp() override {
    GitSourceTest::SetUp();
    git(repo, {"branch", "-M", "main"});
    url = "file://" + repo.string();
    spec.source.path = url;
    spec.source.ref = "main";
    spec.source.path_where = "job.yaml:5:12";
    spec.source.ref_where = "job.yaml:6:12";
    cache = tmp.path() / "cache";
  }
  // A new commit on the origin's main.
  std::string advance_origin(const std::string& what) {
    write_file(repo / "README", what + "\n");
    git(repo, {"commit", "-qam", what});
    return git(repo, {"rev-parse", "HEAD"});
  }
  int git_commands(const std::string& sub) const {
    int n = 0;
    for (const auto& argv : runner.argvs)
      n += std::find(argv.begin(), argv.end(), sub) != argv.end();
    return n;
  }
  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  }
  std::string url;
  fs::path cache;
};

TEST_F(UrlSourceTest, ClonedOnceIntoTheCacheAndBuiltFromTheMirror) {
  EXPECT_TRUE(is_git_url(url));
  EXPECT_FALSE(is_git_url(repo.string()));
  EXPECT_FALSE(is_git_url("~/file:/x"));
  const std::string head = git(repo, {"rev-parse", "main"});
  fs::path src = resolve_source(spec, "/jobs", runner, cache, status);
  EXPECT_EQ(src, mirror_dir(cache, url));
  EXPECT_EQ(src.parent_path(), cache / "git");
  EXPECT_EQ(git(src, {"rev-parse", "--is-bare-repository"}), "true");
  EXPECT_EQ(source_commit(spec, src, runner), head);
  EXPECT_EQ(source_identity(spec, src, runner, cache),
            "git:" + git(repo, {"rev-parse", "main^{tree}"}));
  // Tags came along; the worktree is made from the mirror.
  EXPECT_EQ(git(src, {"rev-parse", "v1"}), git(repo, {"rev-parse", "v1"}));
  fs::path tree = prepare_tree(spec, src, nullptr, tmp.path() / "cache/trees/u1", runner, status);
  EXPECT_EQ(read_file(tree / "README"), "later work\n");
  EXPECT_EQ(git(tree, {"rev-parse", "HEAD"}), head);
}

TEST_F(UrlSourceTest, TheRefIsPinnedForTheProcessAndFetchedOnTheNextRun) {
  const std::string first = git(repo, {"rev-parse", "main"});
  fs::path src = resolve_source(spec, "/jobs", runner, cache, status);
  const std::string second = advance_origin("moved on");
  // Later in the same job (another arch): no fetch, the same commit.
  runner.argvs.clear();
  EXPECT_EQ(resolve_source(spec, "/jobs", runner, cache, status), src);
  EXPECT_EQ(git_commands("fetch") + git_commands("clone"), 0);
  EXPECT_EQ(source_commit(spec, src, runner), first);
  // The next run fetches (update_mirror is what resolve_source calls once).
  EXPECT_EQ(update_mirror(spec, runner, cache, status), MirrorUpdate::fetched);
  EXPECT_EQ(git(src, {"rev-parse", "main"}), second);
  // A branch deleted upstream is pruned from the mirror.
  git(repo, {"branch", "gone"});
  update_mirror(spec, runner, cache, status);
  EXPECT_FALSE(git(src, {"branch", "--list", "gone"}).empty());
  git(repo, {"branch", "-D", "gone"});
  update_mirror(spec, runner, cache, status);
  EXPECT_TRUE(git(src, {"branch", "--list", "gone"}).empty());
}

TEST_F(UrlSourceTest, AFullCommitIdTheMirrorHoldsNeedsNoFetch) {
  const std::string v1 = git(repo, {"rev-parse", "v1^{commit}"});
  resolve_source(spec, "/jobs", runner, cache, status);
  spec.source.ref = v1;
  runner.argvs.clear();
  EXPECT_EQ(update_mirror(spec, runner, cache, status), MirrorUpdate::current);
  EXPECT_EQ(git_commands("fetch"), 0);
}

TEST_F(UrlSourceTest, ACommitNoBranchReachesIsFetchedByItsId) {
  resolve_source(spec, "/jobs", runner, cache, status);
  const std::string lost = advance_origin("force-pushed away");
  git(repo, {"reset", "-q", "--hard", "HEAD~1"});
  git(repo, {"config", "uploadpack.allowAnySHA1InWant", "true"});
  spec.source.ref = lost;
  EXPECT_EQ(source_commit(spec, resolve_source(spec, "/jobs", runner, cache, status), runner),
            lost);
}

TEST_F(UrlSourceTest, UnreachableUrlAndUnknownRefAreOneLineNamingTheJob) {
  spec.source.path = "file://" + (tmp.path() / "nowhere").string();
  std::string e = error_of([&] { resolve_source(spec, "/jobs", runner, cache, status); });
  EXPECT_EQ(e.rfind("job.yaml:5:12: kernel 'dev': source file://" +
                        (tmp.path() / "nowhere").string() + ": cannot clone: ",
                    0),
            0u)
      << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(mirror_dir(cache, spec.source.path.string()))) << "no half clone left";
  EXPECT_FALSE(fs::exists(mirror_dir(cache, spec.source.path.string()).string() + ".tmp"));

  spec.source.path = url;
  spec.source.ref = "no-such-branch";
  EXPECT_EQ(
      error_of([&] { resolve_source(spec, "/jobs", runner, cache, status); }),
      "job.yaml:6:12: kernel 'dev': source " + url + ": no branch, tag or commit 'no-such-branch'");
}

TEST_F(UrlSourceTest, AFailedFetchFallsBackToTheMirrorWithAWarning) {
  fs::path src = resolve_source(spec, "/jobs", runner, cache, status);
  const std::string had = git(src, {"rev-parse", "main"});
  fs::rename(repo, tmp.path() / "linux-away");  // the server is gone
  EXPECT_EQ(update_mirror(spec, runner, cache, status), MirrorUpdate::stale);
  EXPECT_EQ(
      status.last_warn.rfind("job.yaml:5:12: kernel 'dev': source " + url + ": cannot fetch (", 0),
      0u)
      << status.last_warn;
  EXPECT_NE(status.last_warn.find("using the cached mirror"), std::string::npos);
  EXPECT_EQ(git(src, {"rev-parse", "main"}), had);
  // A ref the mirror never had cannot come from a cache.
  spec.source.ref = "v2";
  std::string e = error_of([&] { update_mirror(spec, runner, cache, status); });
  EXPECT_EQ(e.rfind("job.yaml:5:12: kernel 'dev': source " + url + ": cannot fetch (", 0), 0u) << e;
  EXPECT_NE(e.find("and the cached mirror " + src.string() + " has no 'v2'"), std::string::npos)
      << e;
}

}  // namespace
}  // namespace kh
