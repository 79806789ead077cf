#include "image/initramfs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "core/arch.h"
#include "core/paths.h"
#include "image/deb.h"
#include "image/guest_image.h"
#include "util/error.h"
#include "util/files.h"
#include "util/process.h"

namespace kh {
namespace {

const InitramfsEntry* find(const std::vector<InitramfsEntry>& v, const std::string& path) {
  auto it =
      std::find_if(v.begin(), v.end(), [&](const InitramfsEntry& e) { return e.path == path; });
  return it == v.end() ? nullptr : &*it;
}

TEST(InitramfsTest, WritesNewcCpioThatReadsBack) {
  ScopedTempDir tmp;
  Initramfs img;
  img.add_file("/init", "#!/bin/sh\n", 0755);
  img.add_file("/kharness/config.json", "{}");
  img.add_symlink("/bin/sh", "busybox");
  img.write(tmp.path() / "i.cpio");
  auto back = read_initramfs(tmp.path() / "i.cpio");
  ASSERT_NE(find(back, "/init"), nullptr);
  EXPECT_EQ(find(back, "/init")->content, "#!/bin/sh\n");
  EXPECT_EQ(find(back, "/init")->mode, 0755u);
  ASSERT_NE(find(back, "/kharness"), nullptr) << "parent folders are added";
  EXPECT_EQ(find(back, "/kharness")->type, InitramfsEntry::Type::dir);
  ASSERT_NE(find(back, "/bin/sh"), nullptr);
  EXPECT_EQ(find(back, "/bin/sh")->type, InitramfsEntry::Type::symlink);
  EXPECT_EQ(find(back, "/bin/sh")->content, "busybox");
  // newc magic, as the kernel's initramfs unpacker wants.
  EXPECT_EQ(read_file(tmp.path() / "i.cpio").substr(0, 6), "070701");
}

TEST(InitramfsTest, UnwritablePathIsAnInfraErrorNamingIt) {
  Initramfs img;
  img.add_file("/init", "x");
  try {
    img.write("/nonexistent-dir/i.cpio");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/i.cpio"), std::string::npos);
  }
}

// Uses the real .debs that harness/setup.sh fetched.
TEST(GuestImageTest, HoldsAgentBusyboxBashConfigAndWorkloadFiles) {
  Paths paths = Paths::from_environment();
  ScopedTempDir tmp;
  write_file(tmp.path() / "agent",
             "\x7f"
             "ELFagent");
  write_file(tmp.path() / "wl/files/run.sh", "echo hi\n");
  make_executable(tmp.path() / "wl/files/run.sh");
  GuestImageRequest req;
  req.arch = find_arch("x86_64");
  req.recipe = load_image_recipe(paths.image_recipe());
  req.agent = tmp.path() / "agent";
  req.debs_dir = paths.debs();
  req.config_json = "{\"workload\":\"x\"}";
  req.workload_dir = tmp.path() / "wl";
  Initramfs img = compose_guest_image(req);
  img.write(tmp.path() / "i.cpio");
  auto back = read_initramfs(tmp.path() / "i.cpio");
  ASSERT_NE(find(back, "/init"), nullptr);
  EXPECT_EQ(find(back, "/init")->content,
            "\x7f"
            "ELFagent");
  ASSERT_NE(find(back, "/bin/busybox"), nullptr);
  EXPECT_EQ(find(back, "/bin/busybox")->content.substr(1, 3), "ELF");
  EXPECT_GT(find(back, "/bin/busybox")->content.size(), 500000u);
  ASSERT_NE(find(back, "/bin/bash"), nullptr);
  EXPECT_EQ(find(back, "/bin/bash")->content.substr(1, 3), "ELF");
  ASSERT_NE(find(back, "/kharness/config.json"), nullptr);
  EXPECT_EQ(find(back, "/kharness/config.json")->content, "{\"workload\":\"x\"}");
  ASSERT_NE(find(back, "/kharness/workload/run.sh"), nullptr);
  EXPECT_EQ(find(back, "/kharness/workload/run.sh")->mode, 0755u);
  EXPECT_NE(find(back, "/mnt/scratch"), nullptr);
}

TEST(GuestImageTest, MissingAgentOrPackageSaysHowToGetIt) {
  ScopedTempDir tmp;
  GuestImageRequest req;
  req.arch = find_arch("x86_64");
  req.agent = tmp.path() / "none";
  req.debs_dir = tmp.path();
  try {
    compose_guest_image(req);
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("agent is missing"), std::string::npos) << e.what();
  }
  write_file(tmp.path() / "agent", "x");
  req.agent = tmp.path() / "agent";
  req.recipe = parse_image_recipe(
      "packages: [{package: busybox-static, files: {./bin/busybox: /bin/busybox}}]", "r");
  try {
    compose_guest_image(req);
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("busybox-static:amd64"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("setup.sh"), std::string::npos) << e.what();
  }
}

TEST(ImageRecipeTest, ParsesAndRejectsRelativeGuestPaths) {
  auto r = parse_image_recipe(R"(packages:
  - package: busybox-static
    files: {./bin/busybox: /bin/busybox}
    symlinks: {/bin/sh: busybox}
dirs: [/proc]
)",
                              "guest.yaml");
  ASSERT_EQ(r.packages.size(), 1u);
  EXPECT_EQ(r.packages[0].files[0],
            (std::pair<std::string, std::string>{"./bin/busybox", "/bin/busybox"}));
  EXPECT_EQ(r.packages[0].symlinks[0], (std::pair<std::string, std::string>{"/bin/sh", "busybox"}));
  EXPECT_EQ(r.dirs, std::vector<std::string>{"/proc"});
  try {
    parse_image_recipe("packages:\n  - package: x\n    files: {./a: bin/a}\n", "guest.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("guest.yaml:3:", 0), 0u) << e.what();
  }
}

TEST(ScratchDiskTest, MakesARealExt4Image) {
  ScopedTempDir tmp;
  RealProcessRunner runner;
  make_scratch_disk(runner, tmp.path() / "d.img", 16);
  EXPECT_EQ(std::filesystem::file_size(tmp.path() / "d.img"), 16u << 20);
  std::string img = read_file(tmp.path() / "d.img");
  // ext superblock magic 0xEF53 at offset 1024 + 56.
  EXPECT_EQ(static_cast<unsigned char>(img[1024 + 56]), 0x53);
  EXPECT_EQ(static_cast<unsigned char>(img[1024 + 57]), 0xEF);
}

// Uses the real .debs, as above.
TEST(GuestImageTest, TheBaseIsCachedOnceAndTheRunsOwnFilesComeOnTop) {
  Paths paths = Paths::from_environment();
  ScopedTempDir tmp;
  write_file(tmp.path() / "agent", "agent v1");
  write_file(tmp.path() / "folder/a/b.txt", "in a folder");
  std::filesystem::create_symlink("a/b.txt", tmp.path() / "folder/link");
  GuestImageRequest req;
  req.arch = find_arch("x86_64");
  req.recipe = load_image_recipe(paths.image_recipe());
  req.agent = tmp.path() / "agent";
  req.debs_dir = paths.debs();
  req.config_json = "{\"n\":1}";
  req.trees = {{"/host", tmp.path() / "folder"}};
  const auto cache = tmp.path() / "images";

  Initramfs first = compose_guest_image(req, cache);
  auto bases = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(cache))
      n += e.path().filename().string().starts_with("base-");
    return n;
  };
  EXPECT_EQ(bases(), 1);
  // The same base, another run's config: the cached base is used as is.
  req.config_json = "{\"n\":2}";
  Initramfs second = compose_guest_image(req, cache);
  EXPECT_EQ(bases(), 1);
  ASSERT_NE(find(second.entries(), "/kharness/config.json"), nullptr);
  EXPECT_EQ(find(second.entries(), "/kharness/config.json")->content, "{\"n\":2}");
  EXPECT_EQ(find(second.entries(), "/init")->content, "agent v1");
  ASSERT_NE(find(second.entries(), "/bin/busybox"), nullptr);
  EXPECT_EQ(find(second.entries(), "/host/a/b.txt")->content, "in a folder");
  EXPECT_EQ(find(second.entries(), "/host/link")->type, InitramfsEntry::Type::symlink);
  // Every entry once, as the uncached composition has them.
  Initramfs uncached = compose_guest_image(req);
  EXPECT_EQ(second.entries().size(), uncached.entries().size());

  // A new agent is a new base.
  write_file(tmp.path() / "agent", "agent v2");
  Initramfs third = compose_guest_image(req, cache);
  EXPECT_EQ(bases(), 2);
  EXPECT_EQ(find(third.entries(), "/init")->content, "agent v2");
}

TEST(ScratchDiskTest, CopiesOfTheTemplateAreSparseExt4AndIndependent) {
  ScopedTempDir tmp;
  RealProcessRunner runner;
  const auto cache = tmp.path() / "images";
  make_scratch_disk(runner, tmp.path() / "one.img", 16, cache);
  ASSERT_TRUE(std::filesystem::exists(cache / "scratch-16M.img"));
  write_file(tmp.path() / "one.img", "scribbled");  // the guest writes its copy
  make_scratch_disk(runner, tmp.path() / "two.img", 16, cache);
  EXPECT_EQ(std::filesystem::file_size(tmp.path() / "two.img"), 16u << 20);
  std::string img = read_file(tmp.path() / "two.img");
  EXPECT_EQ(static_cast<unsigned char>(img[1024 + 56]), 0x53);
  EXPECT_EQ(static_cast<unsigned char>(img[1024 + 57]), 0xEF);
  EXPECT_EQ(img, read_file(cache / "scratch-16M.img"));
  struct stat st {};
  ASSERT_EQ(::stat((tmp.path() / "two.img").c_str(), &st), 0);
  EXPECT_LT(static_cast<std::uintmax_t>(st.st_blocks) * 512, 16u << 20) << "holes kept";
}

}  // namespace
}  // namespace kh
