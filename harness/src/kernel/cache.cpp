#include "kernel/cache.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"

namespace fs = std::filesystem;

namespace kh {

std::string compute_cache_key(const KeyInputs& in) {
  Hasher h;
  h.feed(kKernelRecipeVersion);
  h.feed("source").feed(in.source_identity);
  h.feed("series").feed(std::to_string(in.series.size()));
  for (const auto& [name, bytes] : in.series) h.feed(bytes);
  h.feed("fragments").feed(std::to_string(in.fragments.size()));
  for (const auto& [origin, bytes] : in.fragments) h.feed(bytes);
  h.feed("arch").feed(in.arch);
  h.feed("compiler").feed(in.compiler_version);
  return h.hex();
}

ArtifactCache::ArtifactCache(fs::path root) : root_(std::move(root)) {}

namespace {

// meta.json's "files": {"bzImage": {"bytes": N, "sha256": "..."}, ...}.
nlohmann::json file_identity(const fs::path& p) {
  return {{"bytes", fs::file_size(p)}, {"sha256", sha256_file(p)}};
}

// "" when every file meta.json names is there with its size and hash;
// else what is wrong, in one line. Sizes first: a truncated file is caught
// without hashing it.
std::string check_files(const fs::path& d, const nlohmann::json& meta,
                        const std::vector<std::string>& required) {
  auto files = meta.find("files");
  if (files == meta.end() || !files->is_object())
    return "meta.json has no content hashes (written by an older kharness)";
  for (const std::string& name : required)
    if (!files->contains(name)) return fmt::format("meta.json has no hash for {}", name);
  for (const auto& [name, want] : files->items()) {
    if (!want.is_object()) return fmt::format("meta.json: {}: not an object", name);
    std::error_code ec;
    auto bytes = fs::file_size(d / name, ec);
    if (ec) return fmt::format("{} is missing", name);
    if (bytes != want.value("bytes", std::uintmax_t{0}))
      return fmt::format("{} has {} bytes, {} were stored", name, bytes,
                         want.value("bytes", std::uintmax_t{0}));
    // The files a run uses are hashed; the rest (build.log) only sized:
    // a lookup is on every job's path.
    const bool used = std::find(required.begin(), required.end(), name) != required.end();
    if (used && sha256_file(d / name) != want.value("sha256", ""))
      return fmt::format("{} does not match its stored SHA-256", name);
  }
  return "";
}

}  // namespace

std::optional<Artifact> ArtifactCache::lookup(const std::string& key, std::string* damage) const {
  fs::path d = dir(key);
  std::string text;
  if (!read_file_if_exists(d / "meta.json", text)) return std::nullopt;
  auto damaged = [&](std::string why) -> std::optional<Artifact> {
    if (damage) *damage = std::move(why);
    return std::nullopt;
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return damaged("meta.json is not a JSON object");
  Artifact a;
  a.key = key;
  a.arch = j.value("arch", "");
  a.image = d / j.value("image", "");
  a.config = d / "config";
  a.build_log = d / "build.log";
  a.release = j.value("release", "");
  a.image_sha256 = j["files"].is_object() && j["files"].contains(j.value("image", ""))
                       ? j["files"][j.value("image", "")].value("sha256", "")
                       : "";
  a.from_cache = true;
  a.build_seconds = 0;
  if (auto na = j.find("config_not_applicable"); na != j.end() && na->is_array())
    for (const auto& s : *na)
      if (s.is_string()) a.config_not_applicable.push_back(s.get<std::string>());
  try {
    std::string why = check_files(d, j, {j.value("image", ""), "config"});
    if (!why.empty()) return damaged(std::move(why));
  } catch (const std::exception& e) {  // unreadable: as good as damaged
    return damaged(e.what());
  }
  return a;
}

Artifact ArtifactCache::store(const std::string& key, const std::string& arch,
                              const fs::path& image, const fs::path& config,
                              const fs::path& build_log, const std::string& release,
                              double build_seconds,
                              const std::vector<std::string>& config_not_applicable) const {
  ensure_dir(root_);
  fs::path final_dir = dir(key);
  fs::path tmp = root_ / fmt::format(".tmp-{}-{}", key.substr(0, 16), ::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  ensure_dir(tmp);
  try {
    fs::copy_file(image, tmp / image.filename(), fs::copy_options::overwrite_existing);
    fs::copy_file(config, tmp / "config", fs::copy_options::overwrite_existing);
    if (fs::exists(build_log))
      fs::copy_file(build_log, tmp / "build.log", fs::copy_options::overwrite_existing);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw InfraError(
        fmt::format("artifact {}: cannot copy into the cache: {}", key.substr(0, 12), e.what()));
  }
  nlohmann::json j;
  j["key"] = key;
  j["arch"] = arch;
  j["image"] = image.filename().string();
  j["release"] = release;
  j["build_seconds"] = build_seconds;
  j["config_not_applicable"] = config_not_applicable;
  j["files"] = nlohmann::json::object();
  for (const auto& e : fs::directory_iterator(tmp))
    j["files"][e.path().filename().string()] = file_identity(e.path());
  write_file(tmp / "meta.json", j.dump(2) + "\n");
  if (auto twin = lookup(key)) {  // another kharness stored the same key meanwhile
    fs::remove_all(tmp, ec);
    return *twin;
  }
  fs::remove_all(final_dir, ec);  // an incomplete or damaged leftover
  fs::rename(tmp, final_dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (auto a = lookup(key)) return *a;
    throw InfraError(fmt::format("{}: cannot create: {}", final_dir.string(), ec.message()));
  }
  Artifact a = *lookup(key);
  a.from_cache = false;
  a.build_seconds = build_seconds;
  return a;
}

}  // namespace kh
