#include "image/guest_image.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

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

Initramfs compose_guest_image(const GuestImageRequest& req) {
  Initramfs img;
  std::string agent;
  if (!read_file_if_exists(req.agent, agent))
    throw InfraError(fmt::format("{}: the {} guest agent is missing (build it: cmake --build build)",
                                 req.agent.string(), req.arch->name));
  img.add_file("/init", std::move(agent), 0755);
  for (const char* d : {"/dev", "/proc", "/sys", "/tmp", "/mnt/scratch", "/root", "/etc"}) img.add_dir(d);

  std::string deb_arch(req.arch->deb_arch);
  img.add_file("/bin/busybox",
               cached_deb_member(find_deb(req.debs_dir, "busybox-static", deb_arch), "./bin/busybox"), 0755);
  img.add_symlink("/bin/sh", "busybox");
  img.add_file("/bin/bash",
               cached_deb_member(find_deb(req.debs_dir, "bash-static", deb_arch), "./bin/bash-static"),
               0755);

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
  if (ec) throw InfraError(fmt::format("{}: cannot size scratch disk: {}", path.string(), ec.message()));
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
