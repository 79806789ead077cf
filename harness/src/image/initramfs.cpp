#include "image/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "util/error.h"

namespace kh {

void Initramfs::add_parents(const std::string& path) {
  for (std::size_t pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (dirs_.insert(dir).second) entries_.push_back({InitramfsEntry::Type::dir, dir, {}, 0755});
  }
}

void Initramfs::add_file(const std::string& path, std::string content, unsigned mode) {
  add_parents(path);
  entries_.push_back({InitramfsEntry::Type::file, path, std::move(content), mode});
}

void Initramfs::add_dir(const std::string& path) {
  add_parents(path);
  if (dirs_.insert(path).second) entries_.push_back({InitramfsEntry::Type::dir, path, {}, 0755});
}

void Initramfs::add_symlink(const std::string& path, const std::string& target) {
  add_parents(path);
  entries_.push_back({InitramfsEntry::Type::symlink, path, target, 0777});
}

void Initramfs::add_entry(InitramfsEntry entry) {
  add_parents(entry.path);
  if (entry.type == InitramfsEntry::Type::dir && !dirs_.insert(entry.path).second) return;
  entries_.push_back(std::move(entry));
}

void Initramfs::write(const std::filesystem::path& out) const {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            archive_write_free);
  archive_write_set_format_cpio_newc(a.get());
  std::filesystem::path tmp = out;
  tmp += ".tmp";
  auto fail = [&](const char* what) {
    // libarchive's own text is often just "Write error"; errno says why.
    int err = archive_errno(a.get());
    std::string msg = fmt::format("{}: cannot {} initramfs: {}", out.string(), what,
                                  err > 0                         ? std::strerror(err)
                                  : archive_error_string(a.get()) ? archive_error_string(a.get())
                                                                  : "unknown error");
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw InfraError(msg);
  };
  if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK) fail("create");
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                  archive_entry_free);
  unsigned ino = 1;
  for (const auto& ent : entries_) {
    archive_entry_clear(e.get());
    archive_entry_set_pathname(e.get(), ent.path.c_str() + 1);  // cpio paths are relative
    archive_entry_set_ino(e.get(), ino++);
    archive_entry_set_nlink(e.get(), ent.type == InitramfsEntry::Type::dir ? 2 : 1);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    switch (ent.type) {
      case InitramfsEntry::Type::dir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_perm(e.get(), ent.mode);
        archive_entry_set_size(e.get(), 0);
        break;
      case InitramfsEntry::Type::symlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_perm(e.get(), 0777);
        archive_entry_set_symlink(e.get(), ent.content.c_str());
        archive_entry_set_size(e.get(), 0);
        break;
      case InitramfsEntry::Type::file:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), ent.mode);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(ent.content.size()));
        break;
    }
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) fail("write");
    if (ent.type == InitramfsEntry::Type::file && !ent.content.empty() &&
        archive_write_data(a.get(), ent.content.data(), ent.content.size()) < 0)
      fail("write");
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) fail("finish");
  std::filesystem::rename(tmp, out);
}

std::vector<InitramfsEntry> read_initramfs(const std::filesystem::path& path) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_cpio(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw InfraError(fmt::format("{}: cannot read initramfs", path.string()));
  std::vector<InitramfsEntry> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    InitramfsEntry ent;
    ent.path = std::string("/") + archive_entry_pathname(e);
    ent.mode = archive_entry_perm(e);
    auto type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      ent.type = InitramfsEntry::Type::dir;
    } else if (type == AE_IFLNK) {
      ent.type = InitramfsEntry::Type::symlink;
      ent.content = archive_entry_symlink(e);
    } else {
      std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
      if (!data.empty()) archive_read_data(a.get(), data.data(), data.size());
      ent.content = std::move(data);
    }
    out.push_back(std::move(ent));
  }
  return out;
}

}  // namespace kh
