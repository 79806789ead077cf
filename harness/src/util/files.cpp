#include "util/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/error.h"

namespace kh {

std::string read_file(const std::filesystem::path& path) {
  std::string out;
  if (!read_file_if_exists(path, out))
    throw InfraError(fmt::format("{}: cannot read", path.string()));
  return out;
}

bool read_file_if_exists(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) ensure_dir(path.parent_path());
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp{}", ::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    throw InfraError(fmt::format("{}: cannot write: {}", path.string(), std::strerror(errno)));
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  int err = errno;
  ok = (std::fflush(f) == 0) && ok;
  if (!ok) err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::filesystem::remove(tmp);
    throw InfraError(fmt::format("{}: cannot write: {}", path.string(), std::strerror(err)));
  }
  std::filesystem::rename(tmp, path);
}

void make_executable(const std::filesystem::path& path) {
  using std::filesystem::perms;
  std::filesystem::permissions(path, perms::owner_exec | perms::group_exec | perms::others_exec,
                               std::filesystem::perm_options::add);
}

void ensure_dir(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    throw InfraError(fmt::format("{}: cannot create directory: {}", path.string(), ec.message()));
}

std::uint64_t free_bytes(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  while (!p.empty() && !std::filesystem::exists(p)) p = p.parent_path();
  if (p.empty()) p = ".";
  struct statvfs st {};
  if (::statvfs(p.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

void require_free_space(const std::filesystem::path& path, std::uint64_t need_bytes,
                        const std::string& step) {
  std::uint64_t have = free_bytes(path);
  if (have < need_bytes)
    throw InfraError(fmt::format("{}: only {} MiB free under {}, need {} MiB", step, have >> 20,
                                 path.string(), need_bytes >> 20));
}

FileLock::FileLock(const std::filesystem::path& path, const std::function<void()>& wait) {
  ensure_dir(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw InfraError(
        fmt::format("{}: cannot open lock file: {}", path.string(), std::strerror(errno)));
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int err = errno;
      ::close(fd_);
      throw InfraError(fmt::format("{}: flock: {}", path.string(), std::strerror(err)));
    }
    try {
      if (wait) wait();
    } catch (...) {
      ::close(fd_);
      throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

ScopedTempDir::ScopedTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw InfraError("cannot create a temporary directory");
  path_ = tmpl;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace kh
