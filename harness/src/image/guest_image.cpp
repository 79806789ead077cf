#include "image/guest_image.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

#include "core/yaml_util.h"
#include "image/deb.h"
#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

// Unpacking a .deb costs an xz decompression; runs of one job reuse it.
const std::string& cached_deb_member(const std::filesystem::path& deb, const std::string& member) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard lock(mu);
  std::string key = deb.string() + "!" + member;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, extract_from_deb(deb, member)).first;
  return it->second;
}

}  // namespace

ImageRecipe parse_image_recipe(const std::string& text, const std::string& o) {
  YAML::Node root = yaml::load(text, o);
  yaml::expect_map(o, root, "the image recipe");
  yaml::check_keys(o, root, {"packages", "dirs"});
  ImageRecipe r;
  if (root["dirs"]) r.dirs = yaml::string_list(o, root["dirs"], "dirs");
  if (!root["packages"]) return r;
  if (!root["packages"].IsSequence())
    yaml::fail(o, root["packages"], "expected packages: as a list");
  for (const auto& p : root["packages"]) {
    yaml::expect_map(o, p, "a package (package:, files:, symlinks:)");
    yaml::check_keys(o, p, {"package", "files", "symlinks"});
    if (!p["package"]) yaml::fail(o, p, "a package entry needs package: NAME");
    ImageRecipe::Package pkg;
    pkg.name = yaml::scalar(o, p["package"], "package");
    if (p["files"]) {
      yaml::expect_map(o, p["files"], "files (member in the .deb: guest path)");
      for (const auto& kv : p["files"]) {
        std::string guest = yaml::scalar(o, kv.second, "a guest path");
        if (guest.empty() || guest[0] != '/')
          yaml::fail(o, kv.second, "guest paths must be absolute");
        pkg.files.emplace_back(kv.first.as<std::string>(), guest);
      }
    }
    if (p["symlinks"]) {
      yaml::expect_map(o, p["symlinks"], "symlinks (guest path: target)");
      for (const auto& kv : p["symlinks"]) {
        std::string guest = kv.first.as<std::string>();
        if (guest.empty() || guest[0] != '/')
          yaml::fail(o, kv.first, "guest paths must be absolute");
        pkg.symlinks.emplace_back(guest, yaml::scalar(o, kv.second, "a symlink target"));
      }
    }
    r.packages.push_back(std::move(pkg));
  }
  return r;
}

ImageRecipe load_image_recipe(const std::filesystem::path& file) {
  std::string text;
  if (!read_file_if_exists(file, text))
    throw InputError(fmt::format("{}: cannot read the image recipe", file.string()));
  return parse_image_recipe(text, file.string());
}

Initramfs compose_guest_image(const GuestImageRequest& req) {
  Initramfs img;
  std::string agent;
  if (!read_file_if_exists(req.agent, agent))
    throw InfraError(
        fmt::format("{}: the {} guest agent is missing (build it: cmake --build build)",
                    req.agent.string(), req.arch->name));
  img.add_file("/init", std::move(agent), 0755);
  for (const auto& d : req.recipe.dirs) img.add_dir(d);

  std::string deb_arch(req.arch->deb_arch);
  for (const auto& pkg : req.recipe.packages) {
    std::filesystem::path deb = find_deb(req.debs_dir, pkg.name, deb_arch);
    for (const auto& [member, guest] : pkg.files)
      img.add_file(guest, cached_deb_member(deb, member), 0755);
    for (const auto& [guest, target] : pkg.symlinks) img.add_symlink(guest, target);
  }

  img.add_file(kGuestConfigPath, req.config_json);
  std::filesystem::path files = req.workload_dir / "files";
  std::error_code ec;
  if (std::filesystem::is_directory(files, ec)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(files)) {
      std::string rel = std::filesystem::relative(e.path(), files).string();
      std::string guest = std::string(kGuestWorkloadDir) + "/" + rel;
      if (e.is_directory()) {
        img.add_dir(guest);
      } else if (e.is_regular_file()) {
        auto perms = std::filesystem::status(e.path()).permissions();
        bool exec = (perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none;
        img.add_file(guest, read_file(e.path()), exec ? 0755 : 0644);
      }
    }
  }
  for (const auto& [guest, host] : req.files) {
    auto perms = std::filesystem::status(host).permissions();
    bool exec = (perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none;
    img.add_file(guest, read_file(host), exec ? 0755 : 0644);
  }
  return img;
}

void make_scratch_disk(ProcessRunner& runner, const std::filesystem::path& path, int size_mb) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  {
    // Sparse: only what mkfs and the guest write takes space.
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw InfraError(fmt::format("{}: cannot create scratch disk", path.string()));
    std::fclose(f);
  }
  std::filesystem::resize_file(path, static_cast<std::uintmax_t>(size_mb) << 20, ec);
  if (ec)
    throw InfraError(fmt::format("{}: cannot size scratch disk: {}", path.string(), ec.message()));
  Command cmd;
  cmd.argv = {"mkfs.ext4", "-q", "-F", "-L", "kharness", path.string()};
  cmd.timeout = std::chrono::seconds(60);
  ProcessResult r = runner.run(cmd);
  if (r.interrupted) throw Interrupted("making the scratch disk");
  if (!r.ok())
    throw InfraError(fmt::format("{}: mkfs.ext4 failed (exit {}): {}", path.string(), r.exit_code,
                                 r.output.substr(0, 200)));
}

}  // namespace kh
