// Where kharness finds its data (configs/, kernel-patches/, workloads/) and
// keeps its cache (extracted sources, build folders, artifacts, .debs).
#pragma once

#include <filesystem>
#include <string>

namespace kh {

struct Paths {
  std::filesystem::path root;       // the repository: configs/, kernel-patches/, workloads/
  std::filesystem::path cache;      // $KHARNESS_CACHE or ~/.cache/kharness
  std::filesystem::path agent_dir;  // where kharness-agent-<arch> binaries are

  // Defaults from the build, overridden by $KHARNESS_ROOT, $KHARNESS_CACHE
  // and $KHARNESS_AGENT_DIR.
  static Paths from_environment();

  std::filesystem::path kernel_configs() const { return root / "configs/kernel"; }
  std::filesystem::path series_root() const { return root / "kernel-patches"; }
  std::filesystem::path workloads_root() const { return root / "workloads"; }
  std::filesystem::path debs() const { return cache / "debs"; }
  std::filesystem::path image_recipe() const { return root / "images/guest.yaml"; }
  // Guest image parts every run reuses: base initramfs, scratch disk templates.
  std::filesystem::path guest_image_cache() const { return cache / "images"; }
  std::filesystem::path agent(const std::string& arch) const {
    return agent_dir / ("kharness-agent-" + arch);
  }
};

}  // namespace kh
