// cgroup.cpp — raw file helpers and the memory-cgroup hierarchy.
#include "cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

namespace kh {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::setup: return "setup";
    case ErrorKind::workload: return "workload";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::limit: return "limit";
  }
  return "setup";
}

void fail_unsupported(const std::string& message) {
  throw AgentError(ErrorKind::unsupported, message);
}

void fail_setup(const std::string& message) {
  throw AgentError(ErrorKind::setup, message);
}
void fail_workload(const std::string& message) {
  throw AgentError(ErrorKind::workload, message);
}

void fail_syscall(std::string_view what, int err) {
  const bool harness_limit = err == ENOSPC || err == EDQUOT || err == EMFILE || err == ENFILE;
  throw AgentError(harness_limit ? ErrorKind::limit : ErrorKind::workload,
                   errno_message(what, err));
}

void prepare_child(int out, int err, const std::string& cwd) {
  ::setsid();
  const int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  if (::chdir(cwd.c_str()) != 0) {
    const std::string msg = errno_message("kharness: cd " + cwd, errno) + "\n";
    [[maybe_unused]] const ssize_t n = ::write(2, msg.data(), msg.size());
    ::_exit(126);
  }
}

std::string errno_message(std::string_view what, int err) {
  std::string out(what);
  out += ": ";
  out += std::strerror(err);
  return out;
}

int write_fd(int fd, std::string_view data) {
  for (;;) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n == static_cast<ssize_t>(data.size())) return 0;
    if (n >= 0) return EIO;  // a short write to a kernel file is a failure
    if (errno != EINTR) return errno;
  }
}

int write_file(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = write_fd(fd, data);
  ::close(fd);
  return err;
}

int read_file(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int err = errno;
      ::close(fd);
      return err;
    }
  }
  ::close(fd);
  return 0;
}

bool path_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

int make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return 0;
  return errno;
}

double monotonic_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void sleep_ms(long ms) {
  timespec req{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&req, &req) != 0 && errno == EINTR) {
  }
}

bool wait_for_path(const std::string& path, int timeout_ms) {
  const double deadline = monotonic_seconds() + timeout_ms / 1000.0;
  for (;;) {
    if (path_exists(path)) return true;
    if (monotonic_seconds() >= deadline) return false;
    sleep_ms(5);
  }
}

namespace cgroup {
namespace {

constexpr const char* kMountPoint = "/sys/fs/cgroup";

void must_mount(const char* source, const std::string& target, const char* fstype,
                const char* options) {
  if (::mount(source, target.c_str(), fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, options) == 0)
    return;
  std::string what = "mount -t ";
  what += fstype;
  if (options) {
    what += " -o ";
    what += options;
  }
  what += " " + target;
  fail_setup(errno_message(what, errno));
}

void must_mkdir(const std::string& path) {
  if (const int err = make_dir(path)) fail_setup(errno_message("mkdir " + path, err));
}

void must_write(const std::string& path, std::string_view data) {
  if (const int err = write_file(path, data)) {
    fail_setup(errno_message("write '" + std::string(data) + "' to " + path, err));
  }
}

// The integer after `key` at the start of a line in `text`, or -1.
long field_after(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        (line[key.size()] == ' ' || line[key.size()] == '\t')) {
      std::string_view rest = line.substr(key.size() + 1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      long value = -1;
      std::from_chars(rest.data(), rest.data() + rest.size(), value);
      return value;
    }
    pos = end + 1;
  }
  return -1;
}

// /proc/cgroups' memory row, "memory <hierarchy> <num_cgroups> <enabled>",
// as its three numbers; false when the file or the row is not there (or
// the row is malformed).
bool memory_row(long (&fields)[3]) {
  std::string text;
  if (read_file("/proc/cgroups", text) != 0) return false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.substr(0, 7) == "memory\t" || line.substr(0, 7) == "memory ") {
      std::string_view rest = line.substr(7);
      for (long& f : fields) {
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
          rest.remove_prefix(1);
        const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), f);
        if (ec != std::errc()) return false;
        rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
      }
      return true;
    }
    pos = end + 1;
  }
  return false;
}

// num_cgroups of the memory row, or -1.
long memory_num_cgroups() {
  long fields[3] = {-1, -1, -1};
  return memory_row(fields) ? fields[1] : -1;
}

// cgroup_disable=memory on the command line: the controller exists and is
// off. A workload that needs memcg cannot run; that is the kernel's (or the
// job's) choice, not a harness failure.
void require_memory_controller() {
  long fields[3] = {-1, -1, -1};
  if (!memory_row(fields) || fields[2] != 0) return;
  std::string cmdline;
  read_file("/proc/cmdline", cmdline);
  fail_unsupported("the memory controller is disabled in this kernel (" +
                   std::string(cmdline.find("cgroup_disable=memory") != std::string::npos
                                   ? "cgroup_disable=memory on the command line"
                                   : "/proc/cgroups: memory enabled 0") +
                   ")");
}

}  // namespace

Version parse_version(std::string_view text) {
  if (text == "v1" || text == "1") return Version::v1;
  if (text == "v2" || text == "2") return Version::v2;
  fail_setup("param cgroup: expected v1 or v2, got '" + std::string(text) + "'");
}

Hierarchy mount_memory(Version version, const std::string& parent_name) {
  Hierarchy h;
  h.version = version;
  require_memory_controller();
  if (version == Version::v2) {
    h.root = kMountPoint;
    must_mount("cgroup2", h.root, "cgroup2", nullptr);
    must_write(h.root + "/cgroup.subtree_control", "+memory");
    h.parent = h.root + "/" + parent_name;
    must_mkdir(h.parent);
    must_write(h.parent + "/cgroup.subtree_control", "+memory");
  } else {
    must_mount("tmpfs", kMountPoint, "tmpfs", "mode=755");
    h.root = std::string(kMountPoint) + "/memory";
    must_mkdir(h.root);
    // A kernel built without the v1 memory controller (opt-in since 6.11,
    // CONFIG_MEMCG_V1) refuses this mount with EINVAL (ENOENT on some
    // trees). The kernel lacks a capability: a skip, not a setup failure.
    if (::mount("none", h.root.c_str(), "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "memory") != 0) {
      const int err = errno;
      if (err == EINVAL || err == ENOENT || err == ENODEV)
        fail_unsupported(errno_message("the kernel has no cgroup v1 memory controller (mount -t "
                                       "cgroup -o memory",
                                       err) +
                         "; trees that define CONFIG_MEMCG_V1 need it =y)");
      fail_setup(errno_message("mount -t cgroup -o memory " + h.root, err));
    }
    h.parent = h.root + "/" + parent_name;
    must_mkdir(h.parent);
  }
  return h;
}

void add_removal_barrier(Hierarchy& h) {
  if (h.version != Version::v2) return;
  const std::string dir = h.root + "/kharness-barrier";
  if (make_dir(dir) != 0) return;
  // The marker must be a memcg: its removal then takes the path a child's
  // takes (offline, release, free, then the cgroup's own release).
  if (write_file(dir + "/cgroup.subtree_control", "+memory") != 0) return;
  if (dying_descendants(dir) < 0) return;
  h.barrier = dir;
}

long dying_descendants(const std::string& dir) {
  std::string text;
  if (read_file(dir + "/cgroup.stat", text) != 0) return -1;
  return field_after(text, "nr_dying_descendants");
}

int move_pid(const std::string& dir, pid_t pid) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long>(pid));
  (void)ec;
  return write_file(dir + "/cgroup.procs", std::string_view(buf, static_cast<size_t>(end - buf)));
}

long count_dirs(const std::string& root) {
  DIR* dir = ::opendir(root.c_str());
  if (!dir) return 0;
  long count = 1;
  std::vector<std::string> children;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_type != DT_DIR) continue;
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    children.emplace_back(root + "/" + entry->d_name);
  }
  ::closedir(dir);
  for (const std::string& child : children) count += count_dirs(child);
  return count;
}

long dying_count(const Hierarchy& h) {
  if (h.version == Version::v2) return dying_descendants(h.root);
  const long total = memory_num_cgroups();
  if (total < 0) return -1;
  return total - count_dirs(h.root);
}

std::vector<std::string> child_dirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* entry = ::readdir(d)) {
    if (entry->d_type != DT_DIR) continue;
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    out.emplace_back(entry->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> memcg_files(const Hierarchy& h, const std::string& dir) {
  if (h.version == Version::v2)
    return {dir + "/memory.stat", dir + "/memory.current", dir + "/memory.numa_stat"};
  return {dir + "/memory.stat", dir + "/memory.usage_in_bytes", dir + "/memory.numa_stat",
          dir + "/memory.kmem.usage_in_bytes"};
}

std::vector<std::string> snapshot_files(const Hierarchy& h, size_t max_children) {
  std::vector<std::string> files = {"/proc/cgroups", "/proc/vmstat", "/proc/meminfo",
                                    "/proc/sys/kernel/tainted"};
  if (h.version == Version::v2) {
    files.push_back(h.root + "/cgroup.stat");
    files.push_back(h.parent + "/cgroup.stat");
    files.push_back(h.parent + "/memory.events");
  }
  for (const std::string& f : memcg_files(h, h.parent)) files.push_back(f);
  const std::vector<std::string> children = child_dirs(h.parent);
  for (size_t i = 0; i < children.size() && i < max_children; ++i)
    for (const std::string& f : memcg_files(h, h.parent + "/" + children[i])) files.push_back(f);
  return files;
}

}  // namespace cgroup
}  // namespace kh
