// What goes into a run's initramfs: the agent as /init, static busybox and
// bash from the guest arch's Debian packages, the agent's config and the
// workload's own files. And the ext4 scratch disk a page-cache workload
// writes to (initramfs pages are never reclaimed, so they would pin
// memcgs whatever the kernel does).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/arch.h"
#include "image/initramfs.h"
#include "util/process.h"

namespace kh {

// images/guest.yaml: packages to take files from, and empty folders.
struct ImageRecipe {
  struct Package {
    std::string name;                                           // Debian package
    std::vector<std::pair<std::string, std::string>> files;     // member in the .deb -> guest path
    std::vector<std::pair<std::string, std::string>> symlinks;  // guest path -> target
  };
  std::vector<Package> packages;
  std::vector<std::string> dirs;
};

// Throws InputError "<file>:<line>:<col>: ..." for a malformed recipe.
ImageRecipe parse_image_recipe(const std::string& text, const std::string& origin);
ImageRecipe load_image_recipe(const std::filesystem::path& file);

struct GuestImageRequest {
  const ArchInfo* arch = nullptr;
  ImageRecipe recipe;
  std::filesystem::path agent;         // static kharness-agent-<arch>
  std::filesystem::path debs_dir;      // busybox-static and bash-static .debs
  std::string config_json;             // becomes /kharness/config.json
  std::filesystem::path workload_dir;  // its files/ folder (if any) goes to /kharness/workload/
  // More host files: guest path -> host path (file params, selftests). The
  // owner's execute bit decides the mode (0755 or 0644).
  std::vector<std::pair<std::string, std::filesystem::path>> files;
};

// Guest paths, for the agent and for tests.
inline constexpr const char* kGuestConfigPath = "/kharness/config.json";
inline constexpr const char* kGuestWorkloadDir = "/kharness/workload";
inline constexpr const char* kGuestFilesDir = "/kharness/files";          // /<param>/<name>
inline constexpr const char* kGuestSelftestsDir = "/kharness/selftests";  // /<target>/<prog>

// Throws InfraError when the agent or a package is missing (naming it and
// how to get it).
Initramfs compose_guest_image(const GuestImageRequest& req);

// A sparse file of size_mb with a fresh ext4 on it (mkfs.ext4 -F).
void make_scratch_disk(ProcessRunner& runner, const std::filesystem::path& path, int size_mb);

}  // namespace kh
