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
  // Host folders copied whole: guest folder -> host folder (kharness exec's
  // --dir). Symlinks stay symlinks; sockets, fifos and devices are left out.
  std::vector<std::pair<std::string, std::filesystem::path>> trees;
};

// Guest paths, for the agent and for tests.
inline constexpr const char* kGuestConfigPath = "/kharness/config.json";
inline constexpr const char* kGuestWorkloadDir = "/kharness/workload";
inline constexpr const char* kGuestFilesDir = "/kharness/files";          // /<param>/<name>
inline constexpr const char* kGuestSelftestsDir = "/kharness/selftests";  // /<target>/<prog>

// The part every run of an arch shares: the agent as /init, the recipe's
// folders and packages. Unpacking the .debs is an xz decompression, so
// compose_guest_image keeps this part in a cache folder.
// Throws InfraError when the agent or a package is missing (naming it and
// how to get it).
Initramfs compose_base_image(const GuestImageRequest& req);

// The whole image: the base (taken from `cache_dir`/base-<key>.cpio, keyed
// by the agent's bytes, the recipe and the .deb files, and written there on
// a miss; composed afresh when `cache_dir` is empty), then the config, the
// workload's files, `files` and `trees`. Throws like compose_base_image, and
// InputError for a folder of `trees` that cannot be read.
Initramfs compose_guest_image(const GuestImageRequest& req,
                              const std::filesystem::path& cache_dir = {});

// Copies `host_dir` into `img` as `guest_dir` (see GuestImageRequest::trees).
void add_host_tree(Initramfs& img, const std::string& guest_dir,
                   const std::filesystem::path& host_dir);

// A sparse file of size_mb with a fresh ext4 on it. With a `cache_dir`, the
// first disk of each size is made there with mkfs.ext4 and later ones are
// sparse copies of it (a reflink where the filesystem has them): mkfs costs
// a process and ~50 ms, the copy a few ms. Without, mkfs.ext4 every time.
void make_scratch_disk(ProcessRunner& runner, const std::filesystem::path& path, int size_mb,
                       const std::filesystem::path& cache_dir = {});

}  // namespace kh
