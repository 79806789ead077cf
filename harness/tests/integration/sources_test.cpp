// Sources as developers hold them, through the real binary: a git URL
// (file:// here: this machine has no network) cloned once into the cache
// and fetched on the next run, a folder under ~, and the mistakes, each one
// line naming the job file's line with exit code 2. `kharness build --key`
// resolves every source without building a kernel, so this suite takes
// seconds; building from a mirror is covered by the unit tests
// (tests/kernel/source_test.cpp, builder_test.cpp).
#include <gtest/gtest.h>

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
    test::git(origin, {"init", "-q", "-b", "master"});
    test::git(origin, {"add", "-A"});
    test::git(origin, {"commit", "-qm", "base"});
    test::git(origin, {"tag", "next-20260128"});
    env = {{"KHARNESS_CACHE", (tmp.path() / "cache").string()},
           {"HOME", (tmp.path() / "home").string()}};
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
