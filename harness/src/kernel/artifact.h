// A built kernel: what KernelBuilder::build returns and the artifact cache
// stores, named by its content key (kernel/cache.h).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kh {

struct Artifact {
  std::string key;  // content key (kernel/cache.h)
  std::string arch;
  std::filesystem::path image;      // bzImage / Image, inside the cache
  std::filesystem::path config;     // the final .config
  std::filesystem::path build_log;  // full make output
  std::string release;              // `make kernelrelease`
  std::string image_sha256;         // from meta.json, checked by the lookup
  bool from_cache = false;
  // What the kernel is, beside the key (filled by KernelBuilder::build on
  // every path, cached or not; not stored in meta.json).
  std::string source_id;                       // "tarball:<sha256>" or "git:<tree id>"
  std::string commit;                          // git sources: the commit REF named
  std::string series_hash;                     // KCIDB patchset hash of the series, "" without one
  std::string config_hash;                     // sha256 of the final .config
  // Symbols a fragment asked for that this tree does not define at all
  // (kernel/kconfig.h, split_not_applicable): "CONFIG_BASE_FULL". Stored
  // in meta.json, so a cached artifact knows them too.
  std::vector<std::string> config_not_applicable;
  std::vector<std::filesystem::path> patches;  // the series' files, in order
  std::vector<int> patch_strip;                // their -pN, one per patch (1 for an mbox)
  double build_seconds = 0;                    // 0 when from the cache
  // selftests target -> folder of programs (build_selftests); empty path
  // when that build failed. Filled by the executor, not stored.
  std::map<std::string, std::filesystem::path> selftests;
};

}  // namespace kh
