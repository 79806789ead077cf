#include "engine/run_folder.h"

#include <fmt/format.h>

#include <cstdlib>

#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"
#include "util/process.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// A hard link when the run folder shares the cache's filesystem (no bytes
// copied: a run folder costs nothing more), else a copy.
void link_or_copy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove(to, ec);
  fs::create_hard_link(from, to, ec);
  if (!ec) return;
  try {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  } catch (const fs::filesystem_error& e) {
    throw InfraError(fmt::format("{}: cannot keep the kernel in the run folder: {}", to.string(),
                                 e.code().message()));
  }
}

// The job's way of naming a repository, made usable from anywhere: URLs as
// they are, "~/x" and relative folders absolute.
std::string absolute_source(const fs::path& p, const fs::path& job_dir) {
  std::string s = p.string();
  if (s.find("://") != std::string::npos || s.rfind("git@", 0) == 0 || p.is_absolute()) return s;
  if (s == "~" || s.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + s.substr(1);
  }
  return fs::absolute(job_dir / p).lexically_normal().string();
}

// The --rebuild part of reproduce.sh: sets `kernel` to the rebuilt image.
std::string rebuild_function(const RebuildRecipe& r) {
  const ArchInfo& arch = *r.arch;
  std::string s =
      "# --rebuild: this kernel again from its source, series and kernel.config\n"
      "# (the same make variables kharness used; no ccache), into rebuild/.\n"
      "rebuild() {\n"
      "  w=\"$here/rebuild\"\n"
      "  rm -rf \"$w\" && mkdir -p \"$w/src\" \"$w/build\"\n";
  if (r.kind == SourceSpec::Kind::tarball) {
    s += fmt::format("  src={}\n", shell_quote(r.source));
    s += fmt::format(
        "  echo \"{}  $src\" | sha256sum -c --status || {{\n"
        "    echo \"reproduce.sh: $src is not the tarball this kernel was built from "
        "(SHA-256 {})\" >&2; exit 2; }}\n",
        r.source_sha256, r.source_sha256.substr(0, 12));
    s += "  echo \"reproduce.sh: extracting $src\" >&2\n"
         "  tar -xf \"$src\" -C \"$w/src\" --strip-components=1\n";
  } else {
    s += fmt::format("  src={} commit={}\n", shell_quote(r.source), r.commit);
    s += "  echo \"reproduce.sh: checking out $commit of $src\" >&2\n"
         "  if [ -d \"$src\" ]; then repo=\"$src\"; else\n"
         "    git clone -q --bare \"$src\" \"$w/repo.git\" && repo=\"$w/repo.git\"; fi\n"
         "  git -C \"$repo\" archive --format=tar \"$commit\" | tar -x -C \"$w/src\"\n";
  }
  for (const auto& [name, strip] : r.patches)
    s += fmt::format("  (cd \"$w/src\" && patch -s -p{} < \"$here/{}/{}\")\n", strip,
                     kKeptSeriesDir, name);
  s += fmt::format("  cp \"$here/{}\" \"$w/build/.config\"\n", kKeptConfig);
  s += fmt::format(
      "  set -- -C \"$w/src\" O=\"$w/build\" ARCH={} CROSS_COMPILE={} CC={} \\\n"
      "    KBUILD_BUILD_TIMESTAMP='2000-01-01 00:00:00 UTC' KBUILD_BUILD_USER=kharness \\\n"
      "    KBUILD_BUILD_HOST=kharness KBUILD_BUILD_VERSION=1\n",
      arch.kernel_arch, arch.cross_compile.empty() ? "''" : std::string(arch.cross_compile),
      arch.compiler);
  s += fmt::format(
      "  echo \"reproduce.sh: make {} (build log: $w/build.log)\" >&2\n"
      "  make \"$@\" olddefconfig > \"$w/build.log\" 2>&1\n"
      "  make \"$@\" -j\"$(nproc)\" {} >> \"$w/build.log\" 2>&1 || {{\n"
      "    tail -n 20 \"$w/build.log\" >&2; echo \"reproduce.sh: the build failed\" >&2; exit 1; }}\n",
      arch.make_target, arch.make_target);
  s += fmt::format("  kernel=\"$w/build/{}\" rebuilt=1\n", arch.image_path);
  s += fmt::format(
      "  if [ \"$(sha256sum < \"$kernel\" | cut -d' ' -f1)\" = {} ]; then\n"
      "    echo \"reproduce.sh: the rebuilt kernel is byte for byte the one this run booted\" >&2\n"
      "  else\n"
      "    echo \"reproduce.sh: the rebuilt kernel's bytes differ from the one this run booted "
      "(another compiler or toolchain?); booting the rebuilt one\" >&2\n"
      "  fi\n"
      "}}\n",
      r.image_sha256);
  return s;
}

}  // namespace

fs::path keep_kernel(const Artifact& artifact, const fs::path& dir) {
  fs::path image = dir / artifact.image.filename();
  link_or_copy(artifact.image, image);
  if (!artifact.config.empty() && fs::exists(artifact.config))
    link_or_copy(artifact.config, dir / kKeptConfig);
  return image;
}

RebuildRecipe keep_recipe(const Artifact& artifact, const KernelSpec& kernel,
                          const ArchInfo& arch, const fs::path& job_dir, const fs::path& dir) {
  RebuildRecipe r;
  r.arch = &arch;
  r.kind = kernel.source.kind;
  r.source = absolute_source(kernel.source.path, job_dir);
  if (artifact.source_id.rfind("tarball:", 0) == 0) r.source_sha256 = artifact.source_id.substr(8);
  r.commit = artifact.commit;
  if (!artifact.patches.empty()) {
    fs::path series = dir / kKeptSeriesDir;
    ensure_dir(series);
    for (std::size_t i = 0; i < artifact.patches.size(); ++i) {
      // Numbered: two series files may share a name (mbox messages).
      std::string name = fmt::format("{:04d}-{}", i + 1, artifact.patches[i].filename().string());
      link_or_copy(artifact.patches[i], series / name);
      r.patches.emplace_back(name, i < artifact.patch_strip.size() ? artifact.patch_strip[i] : 1);
    }
  }
  r.image_sha256 =
      artifact.image_sha256.empty() ? sha256_file(artifact.image) : artifact.image_sha256;
  return r;
}

std::string reproduce_script(const std::vector<std::string>& argv, int disk_mb,
                             const std::string& kernel_image_name, const RebuildRecipe* recipe) {
  std::string s =
      "#!/bin/sh\n"
      "# Boots exactly this run's kernel and image with the same QEMU command line.\n"
      "# The kernel is kept in this folder (with its .config as kernel.config), so\n"
      "# this works without kharness's cache and on another machine with QEMU.\n"
      "# It runs in a fresh folder (repro-<time>/) so the evidence beside this\n"
      "# script is never overwritten; the console is printed as it comes.\n";
  if (recipe)
    s += "#   ./reproduce.sh --rebuild   first rebuilds the kernel from its source,\n"
         "#                              series and .config, then boots that one.\n";
  s += "set -eu\n"
       "here=$(cd \"$(dirname \"$0\")\" && pwd)\n";
  if (!kernel_image_name.empty())
    s += fmt::format("kernel=\"$here/{}\"\n", kernel_image_name);
  if (recipe) {
    s += rebuild_function(*recipe);
    s += "case \"${1:-}\" in\n"
         "  --rebuild) rebuild ;;\n"
         "  '') ;;\n"
         "  *) echo \"usage: $0 [--rebuild]\" >&2; exit 2 ;;\n"
         "esac\n";
    // The kept image is a hard link into the cache: damage done to the
    // cache's file in place reaches it too. Never boot it unchecked.
    s += fmt::format(
        "if [ -z \"${{rebuilt:-}}\" ] && [ \"$(sha256sum < \"$kernel\" | cut -d' ' -f1)\" != {} ]; "
        "then\n"
        "  echo \"reproduce.sh: $kernel is not the kernel this run booted (its SHA-256 differs: "
        "damaged?); ./reproduce.sh --rebuild builds it again\" >&2\n"
        "  exit 2\n"
        "fi\n",
        recipe->image_sha256);
  }
  s += "dir=$(mktemp -d \"$here/repro-$(date +%Y%m%d-%H%M%S)-XXXX\") && cd \"$dir\"\n"
       "ln -s ../initramfs.cpio initramfs.cpio\n";
  if (!kernel_image_name.empty())
    s += fmt::format("ln -s \"$kernel\" {}\n", shell_quote(kernel_image_name));
  if (disk_mb > 0)
    s += fmt::format("truncate -s {}M scratch.img && mkfs.ext4 -q -F -L kharness scratch.img\n",
                     disk_mb);
  s += ": > console.log\n"
       "tail -f console.log & tailpid=$!\n"
       "trap 'kill $tailpid 2>/dev/null' EXIT\n";
  s += shell_join(argv) + "\n";
  s += "echo \"console: $dir/console.log  records: $dir/records.jsonl\"\n";
  return s;
}

}  // namespace kh
