// cgroup.h — the guest agent's view of the kernel's files: raw-syscall file
// helpers, the agent's error type, and the memory-cgroup hierarchy (v1 or v2).
//
// Everything here is raw open/read/write/mkdir/rmdir: no stdio, no shelling
// out. Hot-path helpers return an errno value (0 = success) so a workload loop
// pays nothing for error handling until something actually fails; set-up
// helpers throw kh::AgentError.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kh {

// Which side is to blame, as the host sees it: "setup" (the agent could not
// prepare: mounts, config, missing files -> outcome infra), "workload" (the
// workload's own syscalls failed -> outcome fail) or "unsupported" (the
// kernel lacks what the workload needs, e.g. the cgroup v1 memory
// controller or MGLRU -> outcome skip, the message naming what is missing)
// or "limit" (the guest ran out of what the harness gave it: its scratch
// disk, its file table -> outcome infra, never a verdict on the kernel).
enum class ErrorKind { setup, workload, unsupported, limit };

const char* to_string(ErrorKind kind);

class AgentError : public std::runtime_error {
 public:
  AgentError(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] void fail_setup(const std::string& message);
[[noreturn]] void fail_workload(const std::string& message);
[[noreturn]] void fail_unsupported(const std::string& message);
// A failed syscall of the workload: "<what>: <strerror(err)>" as a workload
// error, except for errnos that mean the guest ran out of room the harness
// sized (ENOSPC, EDQUOT, EMFILE, ENFILE): those are a "limit".
[[noreturn]] void fail_syscall(std::string_view what, int err);

// "<what>: <strerror(err)>", the shape every error message takes.
std::string errno_message(std::string_view what, int err);

// ---- raw file helpers --------------------------------------------------

// Opens, writes `data` with one write(), closes. Returns 0 or an errno value.
int write_file(const std::string& path, std::string_view data);
// Writes `data` to an already open fd with one write(). Returns 0 or errno.
int write_fd(int fd, std::string_view data);
// Reads the whole file (works for /proc and kernfs files). Returns 0 or errno.
int read_file(const std::string& path, std::string& out);
bool path_exists(const std::string& path);
// mkdir that treats EEXIST as success. Returns 0 or errno.
int make_dir(const std::string& path, mode_t mode = 0755);
// Polls for `path` to appear (device nodes show up when their driver probes).
bool wait_for_path(const std::string& path, int timeout_ms);
// Seconds on CLOCK_MONOTONIC.
double monotonic_seconds();
// Sleeps for `ms` milliseconds (restarts on EINTR).
void sleep_ms(long ms);
// In a child just forked to run a program: a session of its own, stdin
// from /dev/null, stdout and stderr to `out` and `err`, then into `cwd`;
// if it cannot go there it says so on `err` and exits 126 (as a shell
// does for a program it cannot run).
void prepare_child(int out, int err, const std::string& cwd);

// ---- memory cgroups ----------------------------------------------------

namespace cgroup {

enum class Version { v1, v2 };

struct Hierarchy {
  Version version = Version::v2;
  std::string root;    // /sys/fs/cgroup (v2) or /sys/fs/cgroup/memory (v1)
  std::string parent;  // root + "/kharness": the workload's cgroups live under it
  // A cgroup2 directory whose only children are removal markers
  // (offline_wait.h), or empty: add_removal_barrier.
  std::string barrier;

  const char* version_string() const { return version == Version::v1 ? "1" : "2"; }
  std::string root_procs() const { return root + "/cgroup.procs"; }
};

// Parses "v1"/"1"/"v2"/"2"; throws a setup error otherwise.
Version parse_version(std::string_view text);

// Mounts the memory hierarchy at the standard place and creates
// root/<parent_name> with the memory controller enabled for its children.
// v2: cgroup2 at /sys/fs/cgroup, "+memory" in the root's and the parent's
//     cgroup.subtree_control.
// v1: tmpfs at /sys/fs/cgroup, the memory controller at /sys/fs/cgroup/memory.
// Throws a setup error on failure.
Hierarchy mount_memory(Version version, const std::string& parent_name);

// Prepares h.barrier for offline_wait.h's removal barrier, before the
// workload's first snapshot: root/kharness-barrier, one more live memcg
// under the v2 root, with the memory controller enabled for its markers,
// so a marker's removal takes the path a child's takes. v1 has none: its
// counters cannot tell a marker's end from a child's (cgroup.stat is v2
// only), and a marker in a cgroup2 mount beside it has no memcg and ends
// ~3 grace periods sooner than a memcg does (seen: 39 of 500 removals
// still in flight). Leaves h.barrier empty then, or when the kernel
// refuses: the waits fall back to polling the dying count.
void add_removal_barrier(Hierarchy& h);

// nr_dying_descendants of the cgroup2 directory `dir`, or -1.
long dying_descendants(const std::string& dir);

// Writes `pid` to <dir>/cgroup.procs. Returns 0 or errno.
int move_pid(const std::string& dir, pid_t pid);

// Number of directories in the tree at `root`, `root` included: the live
// memory cgroups when `root` is the memory hierarchy's root.
long count_dirs(const std::string& root);

// Memory cgroups that were removed but are still held by the kernel.
// v2: nr_dying_descendants of the root's cgroup.stat.
// v1: the memory row's num_cgroups in /proc/cgroups minus the live ones.
// Returns -1 when it cannot be read.
long dying_count(const Hierarchy& h);

// The names of the directories in `dir` (a cgroup's live children), sorted.
std::vector<std::string> child_dirs(const std::string& dir);

// The statistics of one memory cgroup a snapshot records: memory.stat, the
// usage (v2 memory.current, v1 memory.usage_in_bytes and
// memory.kmem.usage_in_bytes) and memory.numa_stat.
std::vector<std::string> memcg_files(const Hierarchy& h, const std::string& dir);

// The files a snapshot records, in order; the caller keeps those that exist:
// the global ones, the parent's cgroup files and memcg_files, and the
// memcg_files of its first `max_children` live children (by name), which
// the host's statistics invariants compare with the parent.
std::vector<std::string> snapshot_files(const Hierarchy& h, size_t max_children = 16);

}  // namespace cgroup
}  // namespace kh
