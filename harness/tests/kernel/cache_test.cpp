#include "kernel/cache.h"

#include <gtest/gtest.h>

#include "util/files.h"
#include "util/hash.h"

namespace kh {
namespace {

KeyInputs sample() {
  KeyInputs k;
  k.source_identity = "tarball:0123";
  k.series = {{"0001-a.patch", "diff a"}, {"0002-b.patch", "diff b"}};
  k.fragments = {{"configs/kernel/base.config", "CONFIG_A=y\n"},
                 {"configs/kernel/memcg.config", "CONFIG_MEMCG=y\n"}};
  k.arch = "x86_64";
  k.compiler_version = "gcc (Debian 12.2.0-14) 12.2.0";
  return k;
}

TEST(CacheKey, SameInputsSameKey) {
  EXPECT_EQ(compute_cache_key(sample()), compute_cache_key(sample()));
  EXPECT_EQ(compute_cache_key(sample()).size(), 64u);
}

TEST(CacheKey, FileNamesDoNotMatterOnlyBytesAndOrder) {
  KeyInputs k = sample();
  k.fragments[0].first = "elsewhere/base.config";
  EXPECT_EQ(compute_cache_key(k), compute_cache_key(sample()));
}

TEST(CacheKey, EveryInputChangesTheKey) {
  const std::string base = compute_cache_key(sample());
  auto changed = [&](auto edit) {
    KeyInputs k = sample();
    edit(k);
    return compute_cache_key(k);
  };
  EXPECT_NE(base, changed([](KeyInputs& k) { k.fragments[1].second = "CONFIG_MEMCG=n\n"; }));
  EXPECT_NE(base, changed([](KeyInputs& k) { k.fragments[0].second += " "; }));
  EXPECT_NE(base, changed([](KeyInputs& k) { std::swap(k.fragments[0], k.fragments[1]); }));
  EXPECT_NE(base, changed([](KeyInputs& k) { k.series[1].second = "diff c"; }));
  EXPECT_NE(base, changed([](KeyInputs& k) { std::swap(k.series[0], k.series[1]); }));
  EXPECT_NE(base, changed([](KeyInputs& k) { k.series.clear(); }));
  EXPECT_NE(base, changed([](KeyInputs& k) { k.arch = "arm64"; }));
  EXPECT_NE(base,
            changed([](KeyInputs& k) { k.compiler_version = "gcc (Debian 12.2.0-15) 12.2.0"; }));
  EXPECT_NE(base, changed([](KeyInputs& k) { k.source_identity = "tarball:0124"; }));
  // A fragment moving into the series is not the same build.
  EXPECT_NE(base, changed([](KeyInputs& k) {
              k.series.push_back(k.fragments.back());
              k.fragments.pop_back();
            }));
}

TEST(ArtifactCache, StoreThenLookup) {
  ScopedTempDir tmp("kh-cache");
  write_file(tmp.path() / "in/bzImage", "image");
  write_file(tmp.path() / "in/.config", "CONFIG_A=y\n");
  write_file(tmp.path() / "in/build.log", "  CC      a.o\n");
  ArtifactCache cache(tmp.path() / "artifacts");
  EXPECT_FALSE(cache.lookup("k1").has_value());
  Artifact a = cache.store("k1", "x86_64", tmp.path() / "in/bzImage", tmp.path() / "in/.config",
                           tmp.path() / "in/build.log", "6.1.0", 12.5);
  EXPECT_FALSE(a.from_cache);
  EXPECT_EQ(a.build_seconds, 12.5);
  EXPECT_EQ(read_file(a.image), "image");
  auto hit = cache.lookup("k1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(hit->release, "6.1.0");
  EXPECT_EQ(hit->arch, "x86_64");
  EXPECT_EQ(hit->image, tmp.path() / "artifacts/k1/bzImage");
  EXPECT_EQ(hit->image_sha256, sha256_hex("image"));  // the checked hash, for the run folder
  EXPECT_EQ(read_file(hit->config), "CONFIG_A=y\n");
  EXPECT_EQ(read_file(hit->build_log), "  CC      a.o\n");
  // No temporary folder is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(tmp.path() / "artifacts"))
    ++entries;
  EXPECT_EQ(entries, 1);
}

// Every way an entry can rot on disk is a miss that says why, never an
// artifact handed out to boot.
TEST(ArtifactCache, DamagedEntryIsAMissThatSaysWhy) {
  ScopedTempDir tmp("kh-cache");
  write_file(tmp.path() / "in/bzImage", std::string(4096, 'k'));
  write_file(tmp.path() / "in/.config", "CONFIG_A=y\n");
  ArtifactCache cache(tmp.path() / "artifacts");
  auto fresh = [&] {
    std::filesystem::remove_all(tmp.path() / "artifacts");
    return cache.store("k1", "x86_64", tmp.path() / "in/bzImage", tmp.path() / "in/.config",
                       tmp.path() / "in/build.log", "6.1.0", 1);
  };
  auto damage_of = [&] {
    std::string why;
    EXPECT_FALSE(cache.lookup("k1", &why).has_value());
    return why;
  };
  Artifact a = fresh();
  std::string why;
  ASSERT_TRUE(cache.lookup("k1", &why).has_value());
  EXPECT_EQ(why, "");
  EXPECT_TRUE(read_file(cache.dir("k1") / "meta.json").find("\"sha256\"") != std::string::npos);

  std::filesystem::resize_file(a.image, 1000);  // a truncated copy
  EXPECT_EQ(damage_of(), "bzImage has 1000 bytes, 4096 were stored");

  a = fresh();
  write_file(a.image, std::string(4095, 'k') + "x");  // same size, other bytes
  EXPECT_EQ(damage_of(), "bzImage does not match its stored SHA-256");

  a = fresh();
  std::filesystem::remove(a.config);
  EXPECT_EQ(damage_of(), "config is missing");

  a = fresh();
  write_file(cache.dir("k1") / "meta.json", R"({"arch":"x86_64","image":"bzImage"})");
  EXPECT_EQ(damage_of(), "meta.json has no content hashes (written by an older kharness)");

  write_file(cache.dir("k1") / "meta.json", "{\"arch\": ");
  EXPECT_EQ(damage_of(), "meta.json is not a JSON object");

  // A damaged entry is replaced by the next store of its key.
  Artifact again = cache.store("k1", "x86_64", tmp.path() / "in/bzImage",
                               tmp.path() / "in/.config", tmp.path() / "in/build.log", "6.1.0", 1);
  EXPECT_FALSE(again.from_cache);
  EXPECT_TRUE(cache.lookup("k1").has_value());
}

TEST(ArtifactCache, FolderWithoutMetaIsAMiss) {
  ScopedTempDir tmp("kh-cache");
  write_file(tmp.path() / "artifacts/k2/bzImage", "half-written");
  std::string why;
  EXPECT_FALSE(ArtifactCache(tmp.path() / "artifacts").lookup("k2", &why).has_value());
  EXPECT_EQ(why, "");  // not damaged: never finished (store renames it into place whole)
}

}  // namespace
}  // namespace kh
