#include "util/files.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/hash.h"

namespace kh {
namespace {

TEST(FilesTest, WriteReadAndNoTempLeftBehind) {
  ScopedTempDir tmp;
  write_file(tmp.path() / "a/b/c.txt", "hello");
  EXPECT_EQ(read_file(tmp.path() / "a/b/c.txt"), "hello");
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path() / "a/b"))
    n += e.is_regular_file();
  EXPECT_EQ(n, 1);
}

TEST(FilesTest, FullDiskIsAnInfraErrorNamingThePath) {
  // /dev/full answers every write with ENOSPC; write_file goes through a
  // temp file beside the target, so aim it at a folder we cannot write to.
  try {
    write_file("/proc/kharness-test/result.json", "x");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/kharness-test"), std::string::npos) << e.what();
  }
}

TEST(FilesTest, RequireFreeSpace) {
  ScopedTempDir tmp;
  EXPECT_GT(free_bytes(tmp.path()), 0u);
  EXPECT_GT(free_bytes(tmp.path() / "not/yet/made"), 0u);  // nearest existing parent
  require_free_space(tmp.path(), 1, "step");
  try {
    require_free_space(tmp.path(), std::uint64_t(1) << 62, "kernel build");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("kernel build: only ", 0), 0u) << e.what();
  }
}

TEST(FilesTest, FileLockExcludesASecondHolderUntilReleased) {
  ScopedTempDir tmp;
  const auto path = tmp.path() / "locks/tree.lock";
  int waits = 0;
  {
    FileLock first(path, [] { FAIL() << "the first holder must not wait"; });
    // flock(2) locks belong to the open file, so a second open in this
    // process contends like another process would.
    EXPECT_THROW(FileLock(path,
                          [&] {
                            if (++waits == 2) throw Interrupted("waiting");
                          }),
                 Interrupted);
    EXPECT_EQ(waits, 2);
  }
  FileLock again(path, [] { FAIL() << "released with the first holder"; });
}

TEST(HashTest, Sha256AndLengthPrefixedParts) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(Hasher().feed("ab").feed("c").hex(), Hasher().feed("a").feed("bc").hex());
  EXPECT_EQ(Hasher().feed("x").feed("y").hex(), Hasher().feed("x").feed("y").hex());
  EXPECT_EQ(sha256_hex("").size(), 64u);
}

}  // namespace
}  // namespace kh
