// A run folder that replays on its own: the kernel it booted (image and
// .config) and the series it was built with are kept in it, and its
// reproduce.sh boots them again with the same QEMU command line, or first
// rebuilds that kernel from its source (`reproduce.sh --rebuild`). Nothing
// in it points into kharness's cache, so it survives a cache cleanup and
// can be copied to another machine with QEMU.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/job.h"
#include "kernel/artifact.h"

namespace kh {

// The kernel's files as kept in a run folder.
inline constexpr std::string_view kKeptConfig = "kernel.config";
inline constexpr std::string_view kKeptSeriesDir = "kernel-series";

// Puts the artifact's image (as <dir>/<its file name>) and .config (as
// <dir>/kernel.config) into `dir`: hard links into the cache when the
// filesystem allows (no bytes copied), else copies. Returns the image's
// path in `dir`. Throws InfraError when neither works (a full disk).
std::filesystem::path keep_kernel(const Artifact& artifact, const std::filesystem::path& dir);

// How to build the kernel again, from what kharness knew when it built it.
struct RebuildRecipe {
  const ArchInfo* arch = nullptr;
  SourceSpec::Kind kind = SourceSpec::Kind::tarball;
  std::string source;         // the tarball, or the git repository (folder or URL)
  std::string source_sha256;  // tarballs: the file's SHA-256
  std::string commit;         // git: the commit the ref named
  // The series' files in order, copied to <dir>/kernel-series/ by
  // keep_series (file names there), with their -pN.
  std::vector<std::pair<std::string, int>> patches;
  std::string image_sha256;  // of the image the run booted
};

// The recipe of a run's kernel; copies the series' files into
// <dir>/kernel-series/ (a series is small) so the recipe needs nothing
// outside the folder but the source itself.
// Relative and "~" repository paths are resolved against `job_dir`.
RebuildRecipe keep_recipe(const Artifact& artifact, const KernelSpec& kernel,
                          const ArchInfo& arch, const std::filesystem::path& job_dir,
                          const std::filesystem::path& dir);

// reproduce.sh: `argv` (the backend's QEMU command line, with the run
// folder's files by relative name: kernel image, initramfs.cpio) replayed
// in a fresh folder repro-<time>/ beside the evidence, with a new scratch
// disk of `disk_mb` (0: none). With a recipe, `--rebuild` first builds the
// kernel from source, series and kernel.config into rebuild/ and boots
// that instead, saying whether its bytes match the kept image.
std::string reproduce_script(const std::vector<std::string>& argv, int disk_mb,
                             const std::string& kernel_image_name = "",
                             const RebuildRecipe* recipe = nullptr);

}  // namespace kh
