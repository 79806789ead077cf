// Sources as developers hold them, through the real binary: a git URL
// (file:// here: this machine has no network) cloned once into the cache
// and fetched on the next run, a folder under ~, and the mistakes, each one
// line naming the job file's line with exit code 2. `kharness build --key`
// resolves every source without building a kernel, so this suite takes
// seconds, and `kharness run` builds a fake kernel tree (a Makefile that
// writes a file named bzImage) from the mirror to check result.json.
#include <gtest/gtest.h>

#include <cstdlib>

#include "kharness_cli.h"
#include "test_util.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh::it {
namespace {

class SourceIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    origin = tmp.path() / "home/src/linux";
    fs::create_directories(origin.parent_path());
    fs::copy(test::data_path("kernel/fake-tree"), origin, fs::copy_options::recursive);
    // Enough of a kernel tree for kharness's build steps, in a second: the
    // merge concatenates the fragments, make writes a file named bzImage.
    write_file(origin / "Makefile",
               "bzImage:\n\tmkdir -p $(O)/arch/x86/boot && echo fake > "
               "$(O)/arch/x86/boot/bzImage && touch $(O)/vmlinux\n"
               "kernelrelease:\n\t@echo 6.1.0-fake\n");
    write_file(origin / "scripts/kconfig/merge_config.sh",
               "#!/bin/sh\nshift; shift; out=$1; shift\ncat \"$@\" > \"$out/.config\"\n");
    test::git(origin, {"init", "-q", "-b", "master"});
    test::git(origin, {"add", "-A"});
    test::git(origin, {"commit", "-qm", "base"});
    test::git(origin, {"tag", "next-20260128"});
    env = {{"KHARNESS_CACHE", (tmp.path() / "cache").string()},
           {"HOME", (tmp.path() / "home").string()}};
    // The guests' .debs, from the shared cache (harness/setup.sh fetched them).
    const char* shared = std::getenv("KHARNESS_CACHE");
    const char* home = std::getenv("HOME");
    fs::path debs = shared && *shared ? fs::path(shared) / "debs"
                                      : fs::path(home ? home : "/root") / ".cache/kharness/debs";
    fs::create_directories(tmp.path() / "cache");
    fs::create_symlink(debs, tmp.path() / "cache/debs");
  }
  // A job of one kernel with this source, in tmp/jobs/NAME.yaml.
  std::string job_with(const std::string& name, const std::string& source) {
    fs::path file = tmp.path() / "jobs" / (name + ".yaml");
    write_file(file, "name: " + name +
                         "\n"
                         "kernels:\n"
                         "  - name: next\n"
                         "    source:\n" +
                         source +
                         "arches: [x86_64]\n"
                         "workloads: [dying-cgroup]\n");
    return file.string();
  }
  CliResult key(const std::string& job) { return run_kharness({"build", "--key", job}, env); }
  static std::string key_of(const CliResult& r) {
    std::string line = line_with(r.output, "next/x86_64 ");
    return line.substr(line.rfind(' ') + 1);
  }
  static std::string error_line(const CliResult& r) { return line_with(r.output, "kharness: "); }

  ScopedTempDir tmp{"kharness-it-sources"};
  fs::path origin;
  std::vector<std::pair<std::string, std::string>> env;
};

TEST_F(SourceIntegration, UrlIsClonedOnceFetchedLaterAndUsedAsCachedWhenUnreachable) {
  std::string url = "file://" + origin.string();
  std::string job = job_with("url", "      git: " + url + "\n      ref: master\n");
  CliResult first = key(job);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(key_of(first).size(), 64u) << first.output;
  fs::path mirrors = tmp.path() / "cache/git";
  ASSERT_TRUE(fs::is_directory(mirrors));
  EXPECT_EQ(std::distance(fs::directory_iterator(mirrors), fs::directory_iterator()), 1);

  // Nothing moved: the same kernel. A commit upstream: the next run fetches it.
  EXPECT_EQ(key_of(key(job)), key_of(first));
  write_file(origin / "init/main.c", read_file(origin / "init/main.c") + "// next day\n");
  test::git(origin, {"commit", "-qam", "next day"});
  CliResult moved = key(job);
  ASSERT_EQ(moved.exit_code, 0) << moved.output;
  EXPECT_NE(key_of(moved), key_of(first));

  // The server is gone: a warning, and the mirror as it is.
  fs::rename(origin, tmp.path() / "moved-away");
  CliResult offline = key(job);
  EXPECT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_EQ(key_of(offline), key_of(moved));
  EXPECT_NE(offline.output.find(job + ":5:12: kernel 'next': source " + url + ": cannot fetch"),
            std::string::npos)
      << offline.output;
  EXPECT_NE(offline.output.find("using the cached mirror"), std::string::npos) << offline.output;
}

// All the way to result.json: `kharness run` builds the (fake) kernel from
// a worktree of the mirror, and the run records the commit the ref named,
// then, after a commit upstream, the next run's. The fake image does not
// boot, so the runs are infra; what is checked is the kernel's identity.
TEST_F(SourceIntegration, RunRecordsTheCommitTheUrlRefResolvedTo) {
  std::string url = "file://" + origin.string();
  std::string job = job_with("url-run", "      git: " + url + "\n      ref: master\n");
  for (int day = 0; day < 2; ++day) {
    if (day == 1) {
      write_file(origin / "init/main.c", read_file(origin / "init/main.c") + "// next day\n");
      test::git(origin, {"commit", "-qam", "next day"});
    }
    const std::string commit = test::git(origin, {"rev-parse", "master"});
    fs::path out = tmp.path() / ("out-" + std::to_string(day));
    CliResult r = run_kharness(
        {"run", job, "--out", out.string(), "--no-history", "--accel", "tcg", "--quiet"}, env);
    EXPECT_EQ(r.exit_code, 3) << r.output;
    auto result = read_json(out / "next/x86_64/dying-cgroup/result.json");
    EXPECT_EQ(result["kernel"]["commit"], commit) << result["kernel"];
    EXPECT_EQ(result["kernel"]["source"], url + "@master");
    EXPECT_EQ(result["kernel"]["source_id"],
              "git:" + test::git(origin, {"rev-parse", "master^{tree}"}));
  }
  // Two trees, each a worktree of the mirror (its .git file points there),
  // none of the origin.
  int trees = 0;
  for (const auto& e : fs::directory_iterator(tmp.path() / "cache/trees")) {
    if (!fs::exists(e.path() / "complete")) continue;
    ++trees;
    EXPECT_TRUE(fs::exists(e.path() / "src/Makefile"));
    EXPECT_EQ(
        read_file(e.path() / "src/.git").find("gitdir: " + (tmp.path() / "cache/git").string()),
        0u);
  }
  EXPECT_EQ(trees, 2);
  EXPECT_FALSE(fs::exists(origin / ".git/worktrees"));
}

TEST_F(SourceIntegration, HomeAndRelativeFoldersResolve) {
  CliResult home = key(job_with("home", "      git: ~/src/linux\n      ref: next-20260128\n"));
  ASSERT_EQ(home.exit_code, 0) << home.output;
  CliResult relative =
      key(job_with("relative", "      git: ../home/src/linux\n      ref: next-20260128\n"));
  ASSERT_EQ(relative.exit_code, 0) << relative.output;
  EXPECT_EQ(key_of(home), key_of(relative));
}

TEST_F(SourceIntegration, MistakesAreOneLineNamingTheJobLine) {
  fs::create_directories(tmp.path() / "home/plain");
  struct Case {
    std::string name, source, expected;
  };
  const std::string gone = "file://" + (tmp.path() / "gone").string();
  for (const Case& c : std::vector<Case>{
           {"unreachable", "      git: " + gone + "\n      ref: master\n",
            ":5:12: kernel 'next': source " + gone + ": cannot clone: "},
           {"bad-ref", "      git: ~/src/linux\n      ref: next-20991231\n",
            ":6:12: kernel 'next': source " + origin.string() +
                ": no branch, tag or commit 'next-20991231'"},
           {"url-bad-ref", "      git: file://" + origin.string() + "\n      ref: nope\n",
            ":6:12: kernel 'next': source file://" + origin.string() +
                ": no branch, tag or commit 'nope'"},
           {"not-a-repo", "      git: ~/plain\n      ref: master\n",
            ":5:12: kernel 'next': source " + (tmp.path() / "home/plain").string() +
                ": not a git repository"},
       }) {
    SCOPED_TRACE(c.name);
    std::string job = job_with(c.name, c.source);
    CliResult r = key(job);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(error_line(r).rfind("kharness: error: " + job + c.expected, 0), 0u) << r.output;
  }
}

}  // namespace
}  // namespace kh::it
