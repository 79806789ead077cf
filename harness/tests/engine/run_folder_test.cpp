#include "engine/run_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "core/arch.h"
#include "util/files.h"
#include "util/hash.h"
#include "util/process.h"

namespace kh {
namespace {

using ::testing::HasSubstr;

TEST(ReproduceTest, ReplaysTheExactArgvInAFreshFolder) {
  std::string s = reproduce_script(
      {"qemu-system-x86_64", "-append", "console=ttyS0 panic=-1", "-initrd", "initramfs.cpio"}, 64);
  EXPECT_EQ(s.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_NE(s.find("qemu-system-x86_64 -append 'console=ttyS0 panic=-1' -initrd initramfs.cpio\n"),
            std::string::npos);
  EXPECT_NE(s.find("mkfs.ext4 -q -F -L kharness scratch.img"), std::string::npos);
  EXPECT_NE(s.find("truncate -s 64M"), std::string::npos);
  EXPECT_EQ(reproduce_script({"q"}, 0).find("mkfs"), std::string::npos);
  EXPECT_EQ(s.find("--rebuild"), std::string::npos);  // no recipe, no rebuild
}

TEST(RunFolderTest, KeepsTheKernelWithoutCopyingWhenItCanLink) {
  ScopedTempDir tmp("kh-runfolder");
  write_file(tmp.path() / "cache/bzImage", "image bytes");
  write_file(tmp.path() / "cache/config", "CONFIG_MEMCG=y\n");
  Artifact a;
  a.image = tmp.path() / "cache/bzImage";
  a.config = tmp.path() / "cache/config";
  ensure_dir(tmp.path() / "run");
  auto kept = keep_kernel(a, tmp.path() / "run");
  EXPECT_EQ(kept, tmp.path() / "run/bzImage");
  EXPECT_EQ(read_file(kept), "image bytes");
  EXPECT_EQ(read_file(tmp.path() / "run/kernel.config"), "CONFIG_MEMCG=y\n");
  struct stat st {};
  ASSERT_EQ(::stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);  // a hard link into the cache, not a copy
  // The cache entry can go: the run folder's copy stays.
  std::filesystem::remove_all(tmp.path() / "cache");
  EXPECT_EQ(read_file(kept), "image bytes");
}

// --rebuild, end to end on a stand-in "kernel tree" whose Makefile builds an
// image from its .config and one patched file: the script checks the
// tarball, applies the kept series, builds with the kept .config and boots
// the result (here: a command that records which image it was given).
TEST(RunFolderTest, RebuildBuildsFromTheTarballSeriesAndConfigThenBoots) {
  ScopedTempDir tmp("kh-rebuild");
  const auto& t = tmp.path();
  write_file(t / "tree/linux/Makefile",
             "olddefconfig:\n\t@test -f $(O)/.config\n"
             "bzImage:\n\t@mkdir -p $(O)/arch/x86/boot && "
             "cat $(O)/.config $(CURDIR)/mm.c > $(O)/arch/x86/boot/bzImage\n");
  write_file(t / "tree/linux/mm.c", "old\n");
  RealProcessRunner runner;
  Command tar;
  tar.argv = {"tar", "-cJf", (t / "linux.tar.xz").string(), "-C", (t / "tree").string(), "linux"};
  ASSERT_EQ(runner.run(tar).exit_code, 0);
  write_file(t / "0001-fix.patch", "--- a/mm.c\n+++ b/mm.c\n@@ -1 +1 @@\n-old\n+new\n");
  const std::string built = "CONFIG_X=y\nnew\n";
  write_file(t / "cache/bzImage", built);
  write_file(t / "cache/config", "CONFIG_X=y\n");

  Artifact a;
  a.image = t / "cache/bzImage";
  a.config = t / "cache/config";
  a.source_id = "tarball:" + sha256_file(t / "linux.tar.xz");
  a.patches = {t / "0001-fix.patch"};
  a.patch_strip = {1};
  KernelSpec k;
  k.source.path = "linux.tar.xz";  // relative to the job's folder
  const std::filesystem::path run = t / "run";
  ensure_dir(run);
  auto image = keep_kernel(a, run);
  RebuildRecipe r = keep_recipe(a, k, *find_arch("x86_64"), t, run);
  EXPECT_EQ(r.source, (t / "linux.tar.xz").string());
  ASSERT_EQ(r.patches.size(), 1u);
  EXPECT_EQ(read_file(run / "kernel-series" / r.patches[0].first), read_file(t / "0001-fix.patch"));
  write_file(run / "initramfs.cpio", "");
  // "QEMU": records the image it boots.
  write_file(run / "reproduce.sh",
             reproduce_script({"sh", "-c", "cat bzImage > ../booted"}, 0, "bzImage", &r));
  // Rebuilding must not need the cache.
  std::filesystem::remove_all(t / "cache");

  Command plain;
  plain.argv = {"sh", (run / "reproduce.sh").string()};
  auto p = runner.run(plain);
  ASSERT_EQ(p.exit_code, 0) << p.output;
  EXPECT_EQ(read_file(run / "booted"), built);

  // Refused with exit 2 and `why`, nothing booted.
  auto expect_refused = [&](const Command& cmd, const std::string& why) {
    write_file(run / "booted", "");
    ProcessResult got = runner.run(cmd);
    EXPECT_EQ(got.exit_code, 2) << got.output;
    EXPECT_THAT(got.output, HasSubstr(why));
    EXPECT_EQ(read_file(run / "booted"), "");
  };

  // The kept image damaged (it is a hard link: damage to the cache's copy
  // reaches it).
  write_file(run / "bzImage", "cut");
  expect_refused(plain, "is not the kernel this run booted");

  Command rebuild = plain;
  rebuild.argv.push_back("--rebuild");
  write_file(run / "booted", "");
  p = runner.run(rebuild);
  ASSERT_EQ(p.exit_code, 0) << p.output;
  EXPECT_THAT(p.output, HasSubstr("byte for byte the one this run booted"));
  EXPECT_EQ(read_file(run / "booted"), built);  // the rebuilt image, patched

  // Another tarball under the same name.
  write_file(t / "linux.tar.xz", "not the tarball");
  expect_refused(rebuild, "is not the tarball this kernel was built from");
  (void)image;
}

}  // namespace
}  // namespace kh
