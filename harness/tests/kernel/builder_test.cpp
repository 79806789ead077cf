#include "kernel/builder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "test_util.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// Plays tar, merge_config.sh, make and gcc without running any of them, and
// records every argv.
class FakeRunner : public ProcessRunner {
 public:
  std::vector<std::vector<std::string>> calls;
  std::vector<std::vector<std::pair<std::string, std::string>>> envs;  // per call
  std::string cross_gcc_version = "aarch64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0";
  std::set<std::string> drop_in_merge;  // symbols the fake merge "loses"
  bool make_fails = false;
  bool make_writes_no_image = false;  // make "succeeds" but leaves no kernel image
  bool no_cross_compiler = false;     // as the real runner says when it is not installed
  RealProcessRunner real;

  ProcessResult run(const Command& cmd) override {
    calls.push_back(cmd.argv);
    envs.push_back(cmd.env);
    ProcessResult r;
    r.exit_code = 0;
    const auto& a = cmd.argv;
    std::string out;
    if (a[0] == "gcc" && a.at(1) == "--version") {
      out = "gcc (Debian 12.2.0-14) 12.2.0\nCopyright\n";
    } else if (a[0] == "aarch64-linux-gnu-gcc" && a.at(1) == "--version") {
      if (no_cross_compiler)
        throw InfraError("aarch64-linux-gnu-gcc: command not found (run harness/setup.sh)");
      out = cross_gcc_version + "\nCopyright\n";
    } else if (a[0] == "git") {
      return real.run(cmd);  // git apply on the fake tree is cheap and real
    } else if (a[0] == "tar") {
      fs::path dest = a.at(4);
      fs::copy(test::data_path("kernel/fake-tree"), dest, fs::copy_options::recursive);
      write_file(dest / "scripts/kconfig/merge_config.sh", "#!/bin/sh\n");
    } else if (a[0] == "bash") {  // merge_config.sh -n -O DIR fragments...
      fs::path dir = a.at(4);
      std::string config;
      for (size_t i = 5; i < a.size(); ++i) {
        for (const auto& line : split(read_file(a[i]))) {
          bool dropped = false;
          for (const auto& sym : drop_in_merge) dropped |= line.rfind(sym + "=", 0) == 0;
          if (!dropped) config += line + "\n";
        }
      }
      write_file(dir / ".config", config);
      out = "merged\n";
    } else if (a[0] == "make") {
      std::string o;
      for (const auto& w : a)
        if (w.rfind("O=", 0) == 0) o = w.substr(2);
      if (a.back() == "kernelrelease") {
        out = "6.1.0-fake\n";
      } else if (make_fails) {
        out =
            "  CC      mm/memcontrol.o\nmm/memcontrol.c:12:3: error: 'x' undeclared\nmake: *** "
            "[Makefile:1] Error 2\n";
        r.exit_code = 2;
      } else {
        out = "  CC      init/main.o\n  CC      mm/memcontrol.o\n";
        if (cmd.on_tick) cmd.on_tick();
        bool arm64 = std::find(a.begin(), a.end(), "ARCH=arm64") != a.end();
        if (!make_writes_no_image)
          write_file(fs::path(o) / (arm64 ? "arch/arm64/boot/Image" : "arch/x86/boot/bzImage"),
                     "fake kernel image");
        write_file(fs::path(o) / "vmlinux", "elf");
      }
    }
    if (cmd.output.empty())
      r.output = out;
    else
      write_file(cmd.output, out);
    return r;
  }
  std::unique_ptr<Child> spawn(const Command&) override { return nullptr; }

  // The first call whose argv[0] is `program` (empty when none).
  std::vector<std::string> first(const std::string& program) const {
    for (const auto& c : calls)
      if (c[0] == program) return c;
    return {};
  }

  int count(const std::string& program) const {
    int n = 0;
    for (const auto& c : calls) n += c[0] == program;
    return n;
  }

 private:
  static std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      out.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    return out;
  }
};

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths.root = tmp.path() / "repo";
    paths.cache = tmp.path() / "cache";
    write_file(paths.kernel_configs() / "base.config", "CONFIG_PRINTK=y\nCONFIG_BLK_DEV=y\n");
    write_file(paths.kernel_configs() / "x86_64.config", "CONFIG_PCI=y\n");
    write_file(paths.kernel_configs() / "arm64.config", "CONFIG_VIRTIO_MMIO=y\n");
    write_file(paths.kernel_configs() / "memcg.config", "# memcg\nCONFIG_MEMCG=y\n");
    write_file(paths.kernel_configs() / "debug.config", "CONFIG_DEBUG_VM=y\nCONFIG_VIRTIO_BLK=y\n");
    write_file(tmp.path() / "job/linux.tar.xz", "not really a tarball");
    spec.name = "linux-6.1";
    spec.source.path = "linux.tar.xz";  // relative to the job folder
  }
  Artifact build(std::string_view arch = "x86_64") {
    KernelBuilder b(runner, status, paths, 2);
    return b.build(spec, *find_arch(arch), tmp.path() / "job");
  }
  std::string key(std::string_view arch = "x86_64") {
    KernelBuilder b(runner, status, paths, 2);
    return b.cache_key(spec, *find_arch(arch), tmp.path() / "job");
  }

  ScopedTempDir tmp{"kh-builder"};
  Paths paths;
  KernelSpec spec;
  FakeRunner runner;
  QuietStatus status;
};

TEST_F(BuilderTest, SecondBuildComesFromTheCacheWithoutMake) {
  Artifact first = build();
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.release, "6.1.0-fake");
  EXPECT_EQ(read_file(first.image), "fake kernel image");
  EXPECT_TRUE(fs::exists(first.build_log));
  EXPECT_EQ(runner.count("tar"), 1);
  EXPECT_EQ(runner.count("make"), 2);  // the build and kernelrelease

  runner.calls.clear();
  Artifact second = build();
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.key, first.key);
  EXPECT_EQ(second.image, first.image);
  EXPECT_EQ(second.release, "6.1.0-fake");
  EXPECT_EQ(runner.count("make"), 0);
  EXPECT_EQ(runner.count("tar"), 0);
  EXPECT_EQ(runner.count("bash"), 0);
}

TEST_F(BuilderTest, ChangedFragmentRebuildsInTheSameTree) {
  Artifact first = build();
  write_file(paths.kernel_configs() / "memcg.config", "# memcg\nCONFIG_MEMCG=y\nCONFIG_SWAP=y\n");
  runner.calls.clear();
  Artifact second = build();
  EXPECT_FALSE(second.from_cache);
  EXPECT_NE(second.key, first.key);
  EXPECT_EQ(runner.count("tar"), 0);  // the extracted tree is reused
  EXPECT_EQ(runner.count("make"), 2);
}

TEST_F(BuilderTest, KeyFollowsFragmentsAndSeries) {
  std::string plain = key();
  EXPECT_EQ(key(), plain);
  spec.fragments = {"debug"};
  std::string with_debug = key();
  EXPECT_NE(with_debug, plain);
  spec.series = (test::data_path("kernel/good-series")).string();
  EXPECT_NE(key(), with_debug);
  EXPECT_EQ(runner.count("make"), 0);
}

TEST_F(BuilderTest, EachArchKeysOnItsOwnCompilerVersion) {
  std::string x86 = key("x86_64");
  std::string arm = key("arm64");
  EXPECT_NE(x86, arm);
  // arm64 asks the cross compiler kbuild will use, not the host's gcc.
  EXPECT_EQ(runner.first("aarch64-linux-gnu-gcc"),
            (std::vector<std::string>{"aarch64-linux-gnu-gcc", "--version"}));
  EXPECT_EQ(runner.first("gcc"), (std::vector<std::string>{"gcc", "--version"}));

  // A new cross compiler rebuilds arm64 kernels and leaves x86_64 ones alone.
  runner.cross_gcc_version = "aarch64-linux-gnu-gcc (Debian 12.2.0-15) 12.2.0";
  EXPECT_NE(key("arm64"), arm);
  EXPECT_EQ(key("x86_64"), x86);
  EXPECT_EQ(runner.count("make"), 0);
}

TEST_F(BuilderTest, Arm64IsCrossCompiledIntoAnImage) {
  Artifact a = build("arm64");
  EXPECT_EQ(a.arch, "arm64");
  EXPECT_EQ(a.image.filename(), "Image");
  EXPECT_EQ(read_file(a.image), "fake kernel image");

  // The merge sees the same ARCH and CROSS_COMPILE as make, and the arm64
  // fragment comes between base and memcg.
  std::vector<std::string> merge = runner.first("bash");
  ASSERT_EQ(merge.size(), 8u);
  EXPECT_EQ(fs::path(merge[5]).filename(), "base.config");
  EXPECT_EQ(fs::path(merge[6]).filename(), "arm64.config");
  EXPECT_EQ(fs::path(merge[7]).filename(), "memcg.config");
  std::size_t merge_call = 0;
  while (runner.calls[merge_call][0] != "bash") ++merge_call;
  const auto& env = runner.envs[merge_call];
  EXPECT_NE(std::find(env.begin(), env.end(), std::pair<std::string, std::string>{"ARCH", "arm64"}),
            env.end());
  EXPECT_NE(std::find(env.begin(), env.end(),
                      std::pair<std::string, std::string>{"CROSS_COMPILE", "aarch64-linux-gnu-"}),
            env.end());

  std::vector<std::string> make = runner.first("make");
  auto has = [&](const std::string& word) {
    return std::find(make.begin(), make.end(), word) != make.end();
  };
  EXPECT_TRUE(has("ARCH=arm64"));
  EXPECT_TRUE(has("CROSS_COMPILE=aarch64-linux-gnu-"));
  EXPECT_TRUE(has("CC=aarch64-linux-gnu-gcc") || has("CC=ccache aarch64-linux-gnu-gcc"));
  EXPECT_EQ(make.back(), "Image");
  EXPECT_TRUE(fs::exists(paths.cache / "trees"));
  // The build folder is per arch, beside the shared source.
  fs::path tree = fs::directory_iterator(paths.cache / "trees")->path();
  EXPECT_TRUE(fs::exists(tree / "build-arm64/arch/arm64/boot/Image"));
}

TEST_F(BuilderTest, MissingCrossCompilerIsOneClearLineBeforeAnyWork) {
  runner.no_cross_compiler = true;
  try {
    build("arm64");
    FAIL() << "built without a cross compiler";
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("aarch64-linux-gnu-gcc: command not found"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(runner.count("tar"), 0) << "nothing extracted for a build that cannot happen";
  EXPECT_EQ(runner.count("make"), 0);
}

TEST_F(BuilderTest, Arm64ImageMissingAfterMakeNamesIt) {
  runner.make_writes_no_image = true;
  try {
    build("arm64");
    FAIL() << "an artifact without an image";
  } catch (const InfraError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("arch/arm64/boot/Image is missing"), std::string::npos) << m;
    EXPECT_NE(m.find("build.log"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(paths.cache / "artifacts") && !fs::is_empty(paths.cache / "artifacts"))
      << "nothing cached for a failed build";
}

TEST_F(BuilderTest, MissingSourceIsAnInputError) {
  spec.source.path = "nowhere/linux.tar.xz";
  try {
    build();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "kernel 'linux-6.1': source " +
                                         (tmp.path() / "job/nowhere/linux.tar.xz").string() +
                                         ": no such file");
  }
}

TEST_F(BuilderTest, MissingFragmentIsAnInputError) {
  spec.fragments = {"nosuch"};
  EXPECT_THROW(key(), InputError);
}

TEST_F(BuilderTest, SymbolsLostInTheMergeAreListedWithTheirFragment) {
  spec.fragments = {"debug"};
  runner.drop_in_merge = {"CONFIG_VIRTIO_BLK", "CONFIG_MEMCG"};
  try {
    build();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "config: 2 symbols lost in the merge: CONFIG_MEMCG=y "
                 "(configs/kernel/memcg.config:2), CONFIG_VIRTIO_BLK=y "
                 "(configs/kernel/debug.config:2)");
  }
  EXPECT_EQ(runner.count("make"), 0);
}

// The fake tree's Kconfig defines MEMCG and VIRTIO_BLK only: a dropped
// CONFIG_BASE_FULL (gone from trees after 6.1) is not applicable, so the
// build goes on, and the artifact says so, built or from the cache.
TEST_F(BuilderTest, ASymbolTheTreeDoesNotDefineIsNotApplicableNotLost) {
  write_file(paths.kernel_configs() / "base.config",
             "CONFIG_PRINTK=y\nCONFIG_BLK_DEV=y\nCONFIG_BASE_FULL=y\n");
  runner.drop_in_merge = {"CONFIG_BASE_FULL"};
  // Every info line, to see what a build says (QuietStatus keeps the last).
  struct Lines : QuietStatus {
    std::vector<std::string> info_lines;
    void info(std::string_view line) override { info_lines.emplace_back(line); }
  } said;
  int makes = 0;
  for (int pass = 0; pass < 2; ++pass) {
    KernelBuilder b(runner, said, paths, 2);
    Artifact a = b.build(spec, *find_arch("x86_64"), tmp.path() / "job");
    EXPECT_EQ(a.from_cache, pass == 1);
    EXPECT_EQ(a.config_not_applicable, std::vector<std::string>{"CONFIG_BASE_FULL"});
    if (pass == 0) makes = runner.count("make");
  }
  EXPECT_GT(makes, 0);
  EXPECT_EQ(runner.count("make"), makes);  // the second came from the cache
  // Said once, by the build that merged; the cached one is silent about it.
  int said_na = 0;
  for (const auto& l : said.info_lines)
    said_na += l.find(
                   "not in this tree (not applicable): CONFIG_BASE_FULL "
                   "(configs/kernel/base.config:3)") != std::string::npos;
  EXPECT_EQ(said_na, 1);
}

TEST_F(BuilderTest, FailedMakeNamesTheFirstErrorAndTheLog) {
  runner.make_fails = true;
  try {
    build();
    FAIL();
  } catch (const InfraError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind("build of linux-6.1/x86_64 failed (make exit 2); last error: "
                      "mm/memcontrol.c:12:3: error: 'x' undeclared; full log: ",
                      0),
              0u)
        << m;
    EXPECT_NE(m.find("build.log"), std::string::npos);
  }
}

TEST_F(BuilderTest, ArtifactCarriesTheKernelsIdentityBuiltOrCached) {
  spec.series = test::data_path("kernel/good-series").string();
  fs::path dir = test::data_path("kernel/good-series");
  std::string expected_series = patchset_hash({read_file(dir / "0001-memcg-log-online.patch"),
                                               read_file(dir / "0002-init-print-marker.patch")});
  for (int pass = 0; pass < 2; ++pass) {  // built, then from the cache
    Artifact a = build();
    EXPECT_EQ(a.from_cache, pass == 1);
    EXPECT_EQ(a.source_id.rfind("tarball:", 0), 0u) << a.source_id;
    EXPECT_EQ(a.commit, "");  // a tarball has none
    EXPECT_EQ(a.series_hash, expected_series);
    EXPECT_EQ(a.config_hash, sha256_hex(read_file(a.config)));
    ASSERT_EQ(a.patches.size(), 2u);
    EXPECT_EQ(a.patches[1].filename(), "0002-init-print-marker.patch");
  }
  spec.series.clear();
  EXPECT_EQ(build().series_hash, "");
}

TEST_F(BuilderTest, SeriesIsAppliedOnceToTheExtractedTree) {
  spec.series = test::data_path("kernel/good-series").string();
  Artifact first = build();
  fs::path trees = paths.cache / "trees";
  ASSERT_EQ(std::distance(fs::directory_iterator(trees), fs::directory_iterator()), 1);
  fs::path tree = fs::directory_iterator(trees)->path();
  EXPECT_TRUE(fs::exists(tree / "complete"));
  EXPECT_NE(read_file(tree / "src/init/main.c").find("kharness-marker"), std::string::npos);
  // Another arch or config on the same tree neither extracts nor patches again.
  spec.fragments = {"debug"};
  runner.calls.clear();
  build();
  EXPECT_EQ(runner.count("tar"), 0);
  EXPECT_EQ(runner.count("git"), 0);
}

TEST_F(BuilderTest, SeriesThatDoesNotApplyLeavesNoCompleteTree) {
  spec.series = test::data_path("kernel/bad-series").string();
  try {
    build();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), ("series '" + spec.series +
                            "': patch 0002-memcg-reparent.patch does not apply: mm/memcontrol.c "
                            "hunk @@ -23,7 +23,7 @@")
                               .c_str());
  }
  fs::path tree = fs::directory_iterator(paths.cache / "trees")->path();
  EXPECT_FALSE(fs::exists(tree / "complete"));
  // The next attempt starts from a fresh extraction.
  runner.calls.clear();
  EXPECT_THROW(build(), InputError);
  EXPECT_EQ(runner.count("tar"), 1);
}

// A git URL (file:// here: no network) is built from the cache's mirror,
// and the artifact names the commit the ref resolved to, built or cached:
// what result.json records as kernel.commit.
TEST_F(BuilderTest, UrlSourceCarriesTheCommitItsRefResolvedTo) {
  fs::path origin = tmp.path() / "origin";
  fs::copy(test::data_path("kernel/fake-tree"), origin, fs::copy_options::recursive);
  test::git(origin, {"init", "-q", "-b", "next"});
  test::git(origin, {"add", "-A"});
  test::git(origin, {"commit", "-qm", "base"});
  test::git(origin, {"tag", "next-20260128"});
  const std::string commit = test::git(origin, {"rev-parse", "HEAD"});
  spec.source.kind = SourceSpec::Kind::git;
  spec.source.path = "file://" + origin.string();
  spec.source.ref = "next-20260128";
  for (int pass = 0; pass < 2; ++pass) {  // built, then from the cache
    Artifact a = build();
    EXPECT_EQ(a.from_cache, pass == 1);
    EXPECT_EQ(a.commit, commit);
    EXPECT_EQ(a.source_id, "git:" + test::git(origin, {"rev-parse", "HEAD^{tree}"}));
  }
  EXPECT_TRUE(fs::exists(paths.cache / "git"));
  EXPECT_EQ(test::git(origin, {"status", "--porcelain"}), "") << "the origin is never touched";
}

}  // namespace
}  // namespace kh
