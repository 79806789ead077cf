#include "image/guest_image.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>

#include "core/yaml_util.h"
#include "image/deb.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"

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

namespace {

void add_host_file(Initramfs& img, const std::string& guest, const std::filesystem::path& host) {
  auto perms = std::filesystem::status(host).permissions();
  bool exec = (perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none;
  img.add_file(guest, read_file(host), exec ? 0755 : 0644);
}

// What names the base image: the agent's bytes, the recipe, and each
// package's file (by path, size and mtime: a .deb is never rewritten in
// place, a new version has a new name).
std::string base_image_key(const GuestImageRequest& req) {
  Hasher h;
  h.feed("kharness guest base image v1").feed(req.arch->name);
  h.feed_file(req.agent);
  for (const auto& d : req.recipe.dirs) h.feed("dir").feed(d);
  std::string deb_arch(req.arch->deb_arch);
  for (const auto& pkg : req.recipe.packages) {
    std::filesystem::path deb = find_deb(req.debs_dir, pkg.name, deb_arch);
    std::error_code ec;
    auto size = std::filesystem::file_size(deb, ec);
    auto mtime = std::filesystem::last_write_time(deb, ec).time_since_epoch().count();
    h.feed("package")
        .feed(pkg.name)
        .feed(deb.string())
        .feed(std::to_string(size))
        .feed(std::to_string(mtime));
    for (const auto& [member, guest] : pkg.files) h.feed(member).feed(guest);
    for (const auto& [guest, target] : pkg.symlinks) h.feed(guest).feed(target);
  }
  return h.hex();
}

}  // namespace

Initramfs compose_base_image(const GuestImageRequest& req) {
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
  return img;
}

Initramfs compose_guest_image(const GuestImageRequest& req,
                              const std::filesystem::path& cache_dir) {
  Initramfs img;
  if (cache_dir.empty()) {
    img = compose_base_image(req);
  } else {
    if (!std::filesystem::exists(req.agent))
      throw InfraError(
          fmt::format("{}: the {} guest agent is missing (build it: cmake --build build)",
                      req.agent.string(), req.arch->name));
    std::filesystem::path base = cache_dir / fmt::format("base-{}.cpio", base_image_key(req));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(base, ec)) {
      ensure_dir(cache_dir);
      // write() goes through a temporary file and a rename: runs writing
      // the same base at once leave one whole file.
      compose_base_image(req).write(base);
    }
    for (auto& e : read_initramfs(base)) img.add_entry(std::move(e));
  }

  img.add_file(kGuestConfigPath, req.config_json);
  std::filesystem::path files = req.workload_dir / "files";
  std::error_code ec;
  if (!req.workload_dir.empty() && std::filesystem::is_directory(files, ec)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(files)) {
      std::string rel = std::filesystem::relative(e.path(), files).string();
      std::string guest = std::string(kGuestWorkloadDir) + "/" + rel;
      if (e.is_directory()) {
        img.add_dir(guest);
      } else if (e.is_regular_file()) {
        add_host_file(img, guest, e.path());
      }
    }
  }
  for (const auto& [guest, host] : req.files) add_host_file(img, guest, host);
  for (const auto& [guest_dir, host_dir] : req.trees) add_host_tree(img, guest_dir, host_dir);
  return img;
}

void add_host_tree(Initramfs& img, const std::string& guest_dir,
                   const std::filesystem::path& host_dir) {
  img.add_dir(guest_dir);
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(
      host_dir, std::filesystem::directory_options::none, ec);
  if (ec)
    throw InputError(
        fmt::format("{}: cannot read the folder: {}", host_dir.string(), ec.message()));
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw InputError(fmt::format("{}: cannot read: {}", host_dir.string(), ec.message()));
    const auto& e = *it;
    // Lexically: relative() would follow a symlink to its target's name.
    std::string guest = guest_dir + "/" + e.path().lexically_relative(host_dir).string();
    if (e.is_symlink()) {
      img.add_symlink(guest, std::filesystem::read_symlink(e.path()).string());
    } else if (e.is_directory()) {
      img.add_dir(guest);
    } else if (e.is_regular_file()) {
      add_host_file(img, guest, e.path());
    }
    // Sockets, fifos and devices have no place in a copy.
  }
}

namespace {

// mkfs.ext4 on a new sparse file of size_mb.
void mkfs_scratch(ProcessRunner& runner, const std::filesystem::path& path, int size_mb) {
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

// Copies `from` to `to` keeping its holes: a reflink when the filesystem
// can, else only the data extents (SEEK_DATA/SEEK_HOLE + copy_file_range).
void copy_sparse(const std::filesystem::path& from, const std::filesystem::path& to) {
  auto fail = [&](const char* what) {
    throw InfraError(fmt::format("{}: cannot {} from {}: {}", to.string(), what, from.string(),
                                 std::strerror(errno)));
  };
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail("open the template");
  std::filesystem::path tmp = to;
  tmp += ".tmp";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    fail("create the copy");
  }
  struct Closer {
    int a, b;
    ~Closer() {
      ::close(a);
      ::close(b);
    }
  } closer{in, out};
  struct stat st {};
  if (::fstat(in, &st) != 0) fail("stat the template");
  if (::ioctl(out, FICLONE, in) != 0) {
    off_t pos = 0;
    while (pos < st.st_size) {
      off_t data = ::lseek(in, pos, SEEK_DATA);
      if (data < 0) break;  // ENXIO: only a hole is left
      off_t hole = ::lseek(in, data, SEEK_HOLE);
      if (hole < 0) fail("read the template's extents of");
      off_t src = data, dst = data;
      while (src < hole) {
        ssize_t n = ::copy_file_range(in, &src, out, &dst, static_cast<size_t>(hole - src), 0);
        if (n <= 0) fail("copy a scratch disk");
      }
      pos = hole;
    }
    if (::ftruncate(out, st.st_size) != 0) fail("size a scratch disk");
  }
  std::filesystem::rename(tmp, to);
}

}  // namespace

void make_scratch_disk(ProcessRunner& runner, const std::filesystem::path& path, int size_mb,
                       const std::filesystem::path& cache_dir) {
  if (cache_dir.empty()) return mkfs_scratch(runner, path, size_mb);
  std::filesystem::path tmpl = cache_dir / fmt::format("scratch-{}M.img", size_mb);
  std::error_code ec;
  static std::mutex mu;  // the runs of one process (--jobs) share the temporary name below
  std::unique_lock lock(mu);
  if (!std::filesystem::is_regular_file(tmpl, ec)) {
    ensure_dir(cache_dir);
    // Made beside and renamed: concurrent runs never see half a filesystem.
    std::filesystem::path tmp = cache_dir / fmt::format("scratch-{}M.img.{}", size_mb, ::getpid());
    mkfs_scratch(runner, tmp, size_mb);
    std::filesystem::rename(tmp, tmpl);
  }
  lock.unlock();
  std::filesystem::remove(path, ec);
  copy_sparse(tmpl, path);
}

}  // namespace kh
