// Small file helpers. Writes go through a temporary file and rename, so a
// result file is either whole or absent; a failed write (disk full) throws
// InfraError naming the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace kh {

std::string read_file(const std::filesystem::path& path);  // throws InfraError
bool read_file_if_exists(const std::filesystem::path& path, std::string& out);
void write_file(const std::filesystem::path& path, const std::string& content);
void make_executable(const std::filesystem::path& path);
void ensure_dir(const std::filesystem::path& path);
// Free bytes for an unprivileged writer on the filesystem holding `path`
// (or its nearest existing parent).
std::uint64_t free_bytes(const std::filesystem::path& path);
// Throws InfraError "<step>: only N MiB free on <fs>, need M MiB" when short.
void require_free_space(const std::filesystem::path& path, std::uint64_t need_bytes,
                        const std::string& step);

// An exclusive flock(2) on a lock file, released on destruction (and by the
// kernel if the process dies). `wait` is called every 200 ms while another
// process holds it; it may throw (Ctrl-C) to give up.
class FileLock {
 public:
  FileLock(const std::filesystem::path& path, const std::function<void()>& wait);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// A temporary directory removed with its contents on destruction.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix = "kharness");
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kh
