// The artifact cache: content keys and <cache>/artifacts/<key>/ folders
// (image, .config, build.log, meta.json), each written whole or not at all.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernel/artifact.h"

namespace kh {

// Bump when the way a kernel is built changes (make arguments, merge
// procedure), so old artifacts stop matching.
inline constexpr std::string_view kKernelRecipeVersion = "kharness-kernel-recipe-2";

// Everything an artifact depends on, as bytes.
struct KeyInputs {
  std::string source_identity;                              // "tarball:<sha256>" or "git:<tree id>"
  std::vector<std::pair<std::string, std::string>> series;  // (patch name, bytes) in order
  std::vector<std::pair<std::string, std::string>> fragments;  // (origin, bytes) in merge order
  std::string arch;
  std::string compiler_version;  // first line of `<compiler> --version`
};

// sha256 over the recipe version and the inputs, in a fixed order. Fragment
// and patch names are not hashed, only their bytes and order, so moving a
// file does not rebuild.
std::string compute_cache_key(const KeyInputs& in);

class ArtifactCache {
 public:
  explicit ArtifactCache(std::filesystem::path root);  // <cache>/artifacts
  std::filesystem::path dir(const std::string& key) const { return root_ / key; }
  // The artifact stored under `key` (from_cache = true), if complete and
  // intact: meta.json names every file's size and SHA-256, and each is
  // checked before the artifact is handed out (a truncated or edited image
  // would otherwise boot as a broken kernel forever). An entry that is
  // there but fails the check is a miss, and `damage` (when given) says why
  // in one line, so the caller can say it is rebuilding; an absent entry
  // leaves it empty.
  std::optional<Artifact> lookup(const std::string& key, std::string* damage = nullptr) const;
  // Copies the files into <root>/<key>/ through a temporary folder and a
  // rename, writes meta.json, and returns the artifact pointing inside it.
  Artifact store(const std::string& key, const std::string& arch,
                 const std::filesystem::path& image, const std::filesystem::path& config,
                 const std::filesystem::path& build_log, const std::string& release,
                 double build_seconds,
                 const std::vector<std::string>& config_not_applicable = {}) const;

 private:
  std::filesystem::path root_;
};

}  // namespace kh
