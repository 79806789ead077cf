// workload_jbd2.cpp — memcg direct reclaim while holding a jbd2 handle.
//
// The PF_MEMALLOC_ACCOUNTFORCE thread (workloads/jbd2/README.md): tasks in a
// memory cgroup at memory.max do ext4 metadata work (creates, renames, small
// writes) and buffered writes that leave the memcg full of dirty pages. A
// charge made inside a jbd2 handle (__ext4_new_inode -> __getblk_gfp ->
// page cache charge) then reclaims with the handle held; reclaim cannot
// write dirty pages back and loops, the running transaction cannot commit,
// and everyone who needs the journal waits.
//
// Here: `writers` processes in <parent>/writers (memory.max on <parent>) do
// that work; a probe thread of the agent, in the root cgroup, times
// create + write + fsync on the same filesystem every probe_interval_ms;
// the agent's main thread samples memory.current, D-state tasks, PSI and
// /dev/kmsg (hung-task reports) and, when the probe has been stuck longer
// than stall_threshold_ms (or PSI io "full" passes psi_stall_percent),
// captures the D-state tasks' /proc/<pid>/stack and the kernel's
// sysrq-w dump into a "stall" record.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "sampling.h"
#include "workloads.h"

namespace kh {
namespace {

// ---- parameters ------------------------------------------------------------

struct Jbd2Params {
  long writers;
  long duration_seconds;
  long memory_max_mb;
  long probe_interval_ms;
  long probe_write_bytes;
  long stall_threshold_ms;
  long psi_stall_percent;  // 0: PSI never triggers a capture
  long sample_interval_ms;
  long small_files;
  long small_dirs;
  long small_write_bytes;
  long bulk_kb;
  long file_mb;
  long max_captures;
  std::string ext4_options;  // empty: the agent's mount as it is

  static Jbd2Params from(const Context& ctx) {
    Jbd2Params p{};
    p.writers = ctx.param_int("writers", 4, 1, 64);
    p.duration_seconds = ctx.param_int("duration_seconds", 60, 1, 3600);
    p.memory_max_mb = ctx.param_int("memory_max_mb", 32, 4, 65536);
    p.probe_interval_ms = ctx.param_int("probe_interval_ms", 200, 10, 60000);
    p.probe_write_bytes = ctx.param_int("probe_write_bytes", 4096, 0, 1 << 20);
    p.stall_threshold_ms = ctx.param_int("stall_threshold_ms", 2000, 1, 3600000);
    p.psi_stall_percent = ctx.param_int("psi_stall_percent", 0, 0, 100);
    p.sample_interval_ms = ctx.param_int("sample_interval_ms", 250, 10, 60000);
    p.small_files = ctx.param_int("small_files", 32, 1, 100000);
    p.small_dirs = ctx.param_int("small_dirs", 16, 0, 100000);
    p.small_write_bytes = ctx.param_int("small_write_bytes", 2048, 0, 1 << 20);
    p.bulk_kb = ctx.param_int("bulk_kb", 1024, 0, 1 << 20);
    p.file_mb = ctx.param_int("file_mb", 16, 1, 1 << 16);
    p.max_captures = ctx.param_int("max_captures", 3, 0, 100);
    p.ext4_options = ctx.param("ext4_options", "");
    return p;
  }
};

// A buffer of 'j's to write from (never read back).
constexpr std::size_t kChunk = 64 * 1024;
char* chunk() {
  static char buf[kChunk];
  static const bool filled = (std::memset(buf, 'j', sizeof buf), true);
  (void)filled;
  return buf;
}

// ---- writers (child processes in the memcg) --------------------------------

// Counters the writers bump and the agent reads: anonymous shared memory
// mapped before the first fork, so respawned writers share it too.
struct WriterCounters {
  std::atomic<std::uint64_t> creates{0};
  std::atomic<std::uint64_t> bulk_bytes{0};
  std::atomic<std::uint64_t> rounds{0};
  std::atomic<std::uint64_t> enomem{0};
};

// Exit codes of a writer that stopped by itself: 0 never happens (the agent
// kills them), kMoveFailed when it could not join the memcg, otherwise the
// errno of the syscall that failed.
constexpr int kMoveFailed = 250;

// Returns 0, or an errno value that is not ENOMEM. ENOMEM (a charge that
// failed at memory.max after the memcg OOM killer ran) is counted: it is
// what this memcg is expected to say now and then.
int check(ssize_t rc, WriterCounters& c) {
  if (rc >= 0) return 0;
  if (errno == ENOMEM) {
    c.enomem.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  return errno;
}

[[noreturn]] void writer_main(const std::string& cgroup_dir, const std::string& dir,
                              const Jbd2Params& p, WriterCounters& c) {
  if (cgroup::move_pid(cgroup_dir, ::getpid()) != 0) ::_exit(kMoveFailed);
  std::vector<std::string> tmp_names, final_names;
  for (long n = 0; n < p.small_files; ++n) {
    tmp_names.push_back(dir + "/t" + std::to_string(n));
    final_names.push_back(dir + "/f" + std::to_string(n));
  }
  std::vector<std::string> tmp_dirs, final_dirs;
  for (long n = 0; n < p.small_dirs; ++n) {
    tmp_dirs.push_back(dir + "/td" + std::to_string(n));
    final_dirs.push_back(dir + "/d" + std::to_string(n));
  }
  const std::string data_path = dir + "/data";
  const char* buf = chunk();
  const int data = ::open(data_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (data < 0) ::_exit(errno);
  const off_t file_bytes = static_cast<off_t>(p.file_mb) * 1024 * 1024;
  off_t offset = 0;
  for (;;) {
    // Metadata: create, a small write (a dirty page), rename over the last
    // round's file (which frees that inode): each step a jbd2 handle whose
    // inode-table and bitmap blocks are page cache charged to this memcg.
    for (long n = 0; n < p.small_files; ++n) {
      const int fd = ::open(tmp_names[n].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        if (const int err = check(fd, c)) ::_exit(err);
        continue;
      }
      int err = 0;
      if (p.small_write_bytes > 0) {
        err = check(
            ::write(fd, buf, static_cast<size_t>(std::min<long>(p.small_write_bytes, kChunk))), c);
      }
      ::close(fd);
      if (err) ::_exit(err);
      if (const int rerr = check(::rename(tmp_names[n].c_str(), final_names[n].c_str()), c))
        ::_exit(rerr);
      c.creates.fetch_add(1, std::memory_order_relaxed);
    }
    // Directories: mkdir, then rename over last round's (empty) one. A new
    // directory's first block is a new block-device page, allocated and
    // charged to this memcg inside the mkdir's jbd2 handle
    // (ext4_init_new_dir -> ext4_append -> sb_getblk): at memory.max, memcg
    // direct reclaim with the handle held, the path of the thread's stack
    // (there __ext4_new_inode -> __ext4_get_inode_loc -> __getblk_gfp).
    for (long n = 0; n < p.small_dirs; ++n) {
      if (::mkdir(tmp_dirs[n].c_str(), 0755) != 0) {
        if (const int err = check(-1, c)) ::_exit(err);
        continue;
      }
      if (const int rerr = check(::rename(tmp_dirs[n].c_str(), final_dirs[n].c_str()), c))
        ::_exit(rerr);
      c.creates.fetch_add(1, std::memory_order_relaxed);
    }
    // Buffered writes over a file larger than the memcg: dirty pages that
    // memcg reclaim finds and cannot write back itself.
    long left = p.bulk_kb * 1024;
    while (left > 0) {
      const size_t n = static_cast<size_t>(std::min<long>(left, kChunk));
      const ssize_t w = ::pwrite(data, buf, n, offset);
      if (const int err = check(w, c)) ::_exit(err);
      if (w > 0) c.bulk_bytes.fetch_add(static_cast<std::uint64_t>(w), std::memory_order_relaxed);
      left -= static_cast<long>(n);
      offset += static_cast<off_t>(n);
      if (offset >= file_bytes) offset = 0;
    }
    c.rounds.fetch_add(1, std::memory_order_relaxed);
  }
}

class Writers {
 public:
  Writers(std::string cgroup_dir, std::string root, const Jbd2Params& p, WriterCounters& c)
      : cgroup_dir_(std::move(cgroup_dir)), root_(std::move(root)), p_(p), c_(c) {
    pids_.assign(static_cast<size_t>(p.writers), -1);
  }
  Writers(const Writers&) = delete;
  Writers& operator=(const Writers&) = delete;
  ~Writers() { stop(30); }

  std::string dir(size_t i) const { return root_ + "/w" + std::to_string(i); }

  void start(size_t i) {
    const pid_t pid = ::fork();
    if (pid == 0) writer_main(cgroup_dir_, dir(i), p_, c_);
    if (pid < 0) fail_syscall("fork writer " + std::to_string(i), errno);
    pids_[i] = pid;
  }

  // Reaps writers that ended; restarts the ones the OOM killer (or any
  // signal) took while `respawn`. A writer that stopped by itself failed.
  void reap(bool respawn) {
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (pids_[i] <= 0) continue;
      int status = 0;
      const pid_t r = ::waitpid(pids_[i], &status, WNOHANG);
      if (r != pids_[i]) continue;
      pids_[i] = -1;
      if (WIFSIGNALED(status)) {
        ++killed_;
        if (respawn) start(i);
        continue;
      }
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      if (code == kMoveFailed) fail_setup("writer " + std::to_string(i) + ": join " + cgroup_dir_);
      fail_syscall("writer " + std::to_string(i) + " in " + dir(i), code);
    }
  }

  // SIGKILLs every writer and waits up to `wait_seconds` for them (a task
  // stuck in D state dies only when it leaves the kernel). Returns how many
  // were still not reaped.
  long stop(double wait_seconds) {
    for (pid_t pid : pids_)
      if (pid > 0) ::kill(pid, SIGKILL);
    const double deadline = monotonic_seconds() + wait_seconds;
    long left = 0;
    for (pid_t& pid : pids_) {
      while (pid > 0) {
        const pid_t r = ::waitpid(pid, nullptr, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
          pid = -1;
        } else if (monotonic_seconds() >= deadline) {
          ++left;
          break;
        } else {
          sleep_ms(20);
        }
      }
    }
    return left;
  }

  long killed() const { return killed_; }

 private:
  std::string cgroup_dir_, root_;
  const Jbd2Params& p_;
  WriterCounters& c_;
  std::vector<pid_t> pids_;
  long killed_ = 0;
};

// ---- the probe (a thread of the agent, in the root cgroup) -----------------

class Probe {
 public:
  Probe(std::string dir, const Jbd2Params& p) : state_(std::make_shared<State>()) {
    state_->dir = std::move(dir);
    state_->interval_s = static_cast<double>(p.probe_interval_ms) / 1000.0;
    state_->write_bytes = static_cast<size_t>(p.probe_write_bytes);
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;
  ~Probe() {
    if (thread_.joinable()) stop(5);
  }

  // The thread owns a reference to the state: a probe stuck in the kernel
  // past stop() may wake up after this object is gone.
  void start() {
    thread_ = std::thread([s = state_] { loop(*s); });
  }

  // Since when the current create + fsync has been running (monotonic
  // seconds), 0 when none is.
  double in_flight_since() const { return state_->in_flight_since.load(); }

  // Asks the thread to stop and waits up to `wait_seconds` for the probe
  // in flight. Returns false when it is still stuck in the kernel: the
  // thread is then left behind (detached), its samples are as they are.
  bool stop(double wait_seconds) {
    state_->stop.store(true);
    const double deadline = monotonic_seconds() + wait_seconds;
    while (!state_->finished.load() && monotonic_seconds() < deadline) sleep_ms(20);
    if (!state_->finished.load()) {
      thread_.detach();
      return false;
    }
    thread_.join();
    return true;
  }

  std::vector<double> samples_ms() const {
    std::lock_guard lock(state_->mu);
    return state_->samples_ms;
  }
  // "<what>: <strerror>" of the first failure, empty if none.
  std::string error() const {
    std::lock_guard lock(state_->mu);
    return state_->error;
  }

 private:
  struct State {
    std::string dir;
    double interval_s = 0;
    size_t write_bytes = 0;
    std::atomic<bool> stop{false};
    std::atomic<bool> finished{false};
    std::atomic<double> in_flight_since{0};
    std::mutex mu;
    std::vector<double> samples_ms;  // guarded by mu
    std::string error;               // guarded by mu
  };

  // One create + write + fsync every interval: a new file each time (its
  // inode and directory entry go into the running transaction, and fsync
  // waits for that transaction to commit).
  static void loop(State& s) {
    const char* buf = chunk();
    std::string previous;
    for (std::uint64_t seq = 0; !s.stop.load(); ++seq) {
      const std::string path = s.dir + "/p" + std::to_string(seq);
      const double t0 = monotonic_seconds();
      s.in_flight_since.store(t0);
      std::string failed;
      int err = 0;
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) {
        err = errno;
        failed = "create " + path;
      } else {
        size_t left = s.write_bytes;
        while (left > 0 && !err) {
          const ssize_t n = ::write(fd, buf, std::min(left, kChunk));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            err = n < 0 ? errno : EIO;
            failed = "write " + path;
          } else {
            left -= static_cast<size_t>(n);
          }
        }
        if (!err && ::fsync(fd) != 0) {
          err = errno;
          failed = "fsync " + path;
        }
        ::close(fd);
      }
      const double t1 = monotonic_seconds();
      s.in_flight_since.store(0);
      {
        std::lock_guard lock(s.mu);
        if (err) {
          s.error = errno_message(failed, err);
          break;
        }
        s.samples_ms.push_back((t1 - t0) * 1000.0);
      }
      if (!previous.empty()) ::unlink(previous.c_str());
      previous = path;
      const double next = t0 + s.interval_s;
      while (!s.stop.load() && monotonic_seconds() < next) {
        const long left_ms = static_cast<long>((next - monotonic_seconds()) * 1000.0);
        sleep_ms(std::clamp(left_ms, 1L, 50L));
      }
    }
    s.finished.store(true);
  }

  std::shared_ptr<State> state_;
  std::thread thread_;
};

// ---- /dev/kmsg -------------------------------------------------------------

// Follows the kernel log from "now": counts hung-task reports and, when
// asked, keeps the text of the records read.
class Kmsg {
 public:
  Kmsg() {
    fd_ = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ >= 0) ::lseek(fd_, 0, SEEK_END);
  }
  ~Kmsg() {
    if (fd_ >= 0) ::close(fd_);
  }
  Kmsg(const Kmsg&) = delete;
  Kmsg& operator=(const Kmsg&) = delete;

  bool ok() const { return fd_ >= 0; }

  // Reads every record available now. With `keep`, appends their text
  // (one line each) to it, up to `keep_limit` bytes.
  void drain(std::string* keep = nullptr, size_t keep_limit = 0) {
    if (fd_ < 0) return;
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf - 1);
      if (n < 0) {
        if (errno == EINTR || errno == EPIPE) continue;  // EPIPE: records overwritten
        return;                                          // EAGAIN: nothing more
      }
      if (n == 0) return;
      const auto text = sampling::kmsg_text(std::string_view(buf, static_cast<size_t>(n)));
      if (!text) continue;
      if (sampling::is_hung_task_report(*text)) ++hung_tasks_;
      if (keep && keep->size() < keep_limit) {
        keep->append(text->substr(0, keep_limit - keep->size()));
        keep->push_back('\n');
      }
    }
  }

  long hung_tasks() const { return hung_tasks_; }

 private:
  int fd_ = -1;
  long hung_tasks_ = 0;
};

// ---- tasks -----------------------------------------------------------------

struct Task {
  long pid;  // the thread group
  long tid;
  sampling::TaskStat stat;
};

bool numeric(const char* name) {
  if (!*name) return false;
  for (const char* c = name; *c; ++c)
    if (*c < '0' || *c > '9') return false;
  return true;
}

std::vector<std::string> numeric_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d))
    if (numeric(e->d_name)) out.emplace_back(e->d_name);
  ::closedir(d);
  return out;
}

// Every task (thread) in state D, from /proc/<pid>/task/<tid>/stat: the
// probe is a thread of PID 1, and a process's other threads block too.
std::vector<Task> dstate_tasks() {
  std::vector<Task> out;
  std::string text;
  for (const std::string& pid : numeric_entries("/proc")) {
    const std::string task_dir = "/proc/" + pid + "/task";
    for (const std::string& tid : numeric_entries(task_dir)) {
      if (read_file(task_dir + "/" + tid + "/stat", text) != 0) continue;
      auto st = sampling::parse_task_stat(text);
      if (!st || st->state != 'D') continue;
      out.push_back({std::stol(pid), std::stol(tid), std::move(*st)});
    }
  }
  return out;
}

// ---- PSI -------------------------------------------------------------------

struct PsiSource {
  PsiSource(std::string name_, std::string path_)
      : name(std::move(name_)), path(std::move(path_)) {}

  std::string name;  // metric prefix: "memcg_memory", "sys_io", ...
  std::string path;
  sampling::Psi first, last;
  double some_avg10_max = 0, full_avg10_max = 0;
  bool seen = false;

  void sample() {
    std::string text;
    if (read_file(path, text) != 0) return;
    const sampling::Psi psi = sampling::parse_psi(text);
    if (!psi.some.present) return;
    if (!seen) first = psi;
    seen = true;
    last = psi;
    some_avg10_max = std::max(some_avg10_max, psi.some.avg10);
    full_avg10_max = std::max(full_avg10_max, psi.full.avg10);
  }

  void emit(Records& records) const {
    if (!seen) return;
    const auto ms = [](std::uint64_t a, std::uint64_t b) {
      return b >= a ? static_cast<double>(b - a) / 1000.0 : 0.0;
    };
    records.metric("psi_" + name + "_some_ms", ms(first.some.total_us, last.some.total_us));
    records.metric("psi_" + name + "_some_avg10_max", some_avg10_max);
    if (last.full.present) {
      records.metric("psi_" + name + "_full_ms", ms(first.full.total_us, last.full.total_us));
      records.metric("psi_" + name + "_full_avg10_max", full_avg10_max);
    }
  }
};

// ---- stall captures --------------------------------------------------------

constexpr size_t kMaxStackTasks = 32;
constexpr size_t kSysrqLimit = 64 * 1024;

// What the kernel says about the tasks stuck now: each D-state task's
// /proc/<pid>/task/<tid>/stack, and the sysrq-w dump (blocked tasks with
// their stacks, as printk writes them), as one "stall" record.
// Returns false, and records nothing, when no task is in D state by now
// (the one seen at the tick may be running again): nothing to dump.
bool capture_stall(Records& records, Kmsg& kmsg, int index, double at, std::string_view trigger,
                   double probe_stuck_ms, double psi_io_full_avg10) {
  kmsg.drain();  // the log up to now is not part of the dump
  nlohmann::json tasks = nlohmann::json::array();
  const std::vector<Task> stuck = dstate_tasks();
  if (stuck.empty()) return false;
  for (size_t i = 0; i < stuck.size() && i < kMaxStackTasks; ++i) {
    const Task& t = stuck[i];
    std::string stack;
    const std::string path =
        "/proc/" + std::to_string(t.pid) + "/task/" + std::to_string(t.tid) + "/stack";
    if (const int err = read_file(path, stack)) stack = errno_message("read " + path, err);
    tasks.push_back({{"pid", t.pid}, {"tid", t.tid}, {"comm", t.stat.comm}, {"stack", stack}});
  }
  std::string sysrq;
  if (const int err = write_file("/proc/sysrq-trigger", "w")) {
    sysrq = errno_message("write w to /proc/sysrq-trigger", err);
  } else {
    kmsg.drain(&sysrq, kSysrqLimit);
  }
  records.emit({{"type", "stall"},
                {"index", index},
                {"at_seconds", at},
                {"trigger", trigger},
                {"probe_stuck_ms", probe_stuck_ms},
                {"psi_io_full_avg10", psi_io_full_avg10},
                {"dstate_tasks", stuck.size()},
                {"tasks", std::move(tasks)},
                {"sysrq_w", sysrq}});
  return true;
}

// ---- the workload ------------------------------------------------------------

long read_long(const std::string& path) {
  std::string text;
  if (read_file(path, text) != 0) return -1;
  long v = -1;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// Mounts the scratch disk again with `options` (ext4 cannot switch
// delalloc on a remount, so it is unmounted first; nothing is open yet).
void remount_scratch(const Context& ctx, const std::string& options) {
  if (::umount2(ctx.scratch.c_str(), 0) != 0)
    fail_setup(errno_message("umount " + ctx.scratch, errno));
  if (::mount(ctx.config.disk.c_str(), ctx.scratch.c_str(), "ext4", MS_NOATIME, options.c_str()))
    fail_setup(errno_message("mount -t ext4 -o " + options + " " + ctx.config.disk, errno));
}

void must_mkdir(const std::string& path) {
  if (const int err = make_dir(path)) fail_setup(errno_message("mkdir " + path, err));
}

}  // namespace

constexpr const char* kHandleCharges = "/sys/module/memcontrol/parameters/handle_charges";
constexpr const char* kHandleReclaims = "/sys/module/memcontrol/parameters/handle_reclaims";

void run_jbd2(Context& ctx) {
  const Jbd2Params p = Jbd2Params::from(ctx);
  if (ctx.scratch.empty()) fail_setup("jbd2 needs the ext4 scratch disk (machine.disk_mb > 0)");
  if (!p.ext4_options.empty()) remount_scratch(ctx, p.ext4_options);

  const cgroup::Hierarchy h = cgroup::mount_memory(cgroup::Version::v2, "kharness");
  const std::string limited = h.parent;  // memory.max here, its events are the run's
  const std::string writers_cg = h.parent + "/writers";
  must_mkdir(writers_cg);
  const long max_bytes = p.memory_max_mb * 1024 * 1024;
  if (const int err = write_file(limited + "/memory.max", std::to_string(max_bytes)))
    fail_setup(errno_message("write memory.max of " + limited, err));

  const std::string root = ctx.scratch + "/jbd2";
  must_mkdir(root);
  must_mkdir(root + "/probe");
  void* shared = ::mmap(nullptr, sizeof(WriterCounters), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) fail_setup(errno_message("mmap writer counters", errno));
  auto* counters = new (shared) WriterCounters();
  Writers writers(writers_cg, root, p, *counters);
  for (long i = 0; i < p.writers; ++i) must_mkdir(writers.dir(static_cast<size_t>(i)));
  ::sync();  // start from a clean journal and no dirty pages

  Kmsg kmsg;
  if (!kmsg.ok()) ctx.records.log(errno_message("open /dev/kmsg (no hung-task count)", errno));
  const long hung_timeout = read_long("/proc/sys/kernel/hung_task_timeout_secs");
  if (hung_timeout >= 0) ctx.records.metric("hung_task_timeout_secs", hung_timeout);

  std::vector<PsiSource> psi = {{"memcg_memory", limited + "/memory.pressure"},
                                {"memcg_io", limited + "/io.pressure"},
                                {"sys_memory", "/proc/pressure/memory"},
                                {"sys_io", "/proc/pressure/io"}};
  PsiSource& sys_io = psi[3];
  for (PsiSource& s : psi) s.sample();

  emit_cgroup_snapshot(ctx.records, "before", h);
  // Only a kernel with kernel-patches/selftest-jbd2-stall counts the memcg
  // charges and reclaim passes made with a journal handle held; elsewhere
  // the files are absent (-1) and there is no metric.
  const long handle_charges_before = read_long(kHandleCharges);
  const long handle_reclaims_before = read_long(kHandleReclaims);

  const double start = monotonic_seconds();
  const double end = start + static_cast<double>(p.duration_seconds);
  for (long i = 0; i < p.writers; ++i) writers.start(static_cast<size_t>(i));
  Probe probe(root + "/probe", p);
  probe.start();

  long usage_peak = 0, samples = 0, over_max_samples = 0;
  long dstate_max = 0, dstate_sum = 0;
  int captures = 0;
  bool in_stall = false;  // one capture per stall episode
  double last_capture = -1e9;
  const double threshold_s = static_cast<double>(p.stall_threshold_ms) / 1000.0;
  const double tick = static_cast<double>(p.sample_interval_ms) / 1000.0;
  for (double next = start; monotonic_seconds() < end;) {
    const double now = monotonic_seconds();
    if (now < next) sleep_ms(static_cast<long>((next - now) * 1000.0) + 1);
    next = std::max(next + tick, monotonic_seconds() + tick / 2);  // slow samples never bunch
    writers.reap(true);
    const long current = read_long(limited + "/memory.current");
    if (current >= 0) {
      usage_peak = std::max(usage_peak, current);
      if (current > max_bytes) ++over_max_samples;
    }
    const long dstate = static_cast<long>(dstate_tasks().size());
    dstate_max = std::max(dstate_max, dstate);
    dstate_sum += dstate;
    ++samples;
    for (PsiSource& s : psi) s.sample();
    kmsg.drain();

    const double t = monotonic_seconds();
    const double since = probe.in_flight_since();
    const bool probe_stuck = since > 0 && t - since > threshold_s;
    const bool psi_high = p.psi_stall_percent > 0 && sys_io.seen &&
                          sys_io.last.full.avg10 >= static_cast<double>(p.psi_stall_percent);
    if (!probe_stuck && !psi_high) {
      in_stall = false;
    } else if (!in_stall && dstate > 0 && captures < p.max_captures && t - last_capture >= 5.0) {
      // (With no task in D state there is nothing to dump: a running
      // task's stack reads empty. The next tick looks again.)
      if (capture_stall(ctx.records, kmsg, captures + 1, t - start, probe_stuck ? "probe" : "psi",
                        probe_stuck ? (t - since) * 1000.0 : 0.0, sys_io.last.full.avg10)) {
        in_stall = true;
        last_capture = t;
        ++captures;
        ctx.records.log("stall " + std::to_string(captures) + " at " +
                        std::to_string(static_cast<long>(t - start)) + " s: stacks captured");
      }
    }
  }
  const double run_seconds = monotonic_seconds() - start;

  // The probe finishes its create + fsync (a stuck one is the finding:
  // its time so far counts as a sample); then the writers go.
  const double stuck_since = probe.in_flight_since();
  const bool probe_done = probe.stop(std::max(30.0, 4 * threshold_s));
  std::vector<double> latencies = probe.samples_ms();
  if (!probe_done && stuck_since > 0) {
    latencies.push_back((monotonic_seconds() - stuck_since) * 1000.0);
    ctx.records.log("the probe is still stuck in create + fsync; its time so far is a sample");
  }
  const long writers_left = writers.stop(30);
  writers.reap(false);
  kmsg.drain();
  for (PsiSource& s : psi) s.sample();
  if (const long peak_file = read_long(limited + "/memory.peak"); peak_file > usage_peak)
    usage_peak = peak_file;

  emit_cgroup_snapshot(ctx.records, "after", h);

  const sampling::LatencySummary lat = sampling::summarize(latencies);
  Records& r = ctx.records;
  r.metric("run_seconds", run_seconds);
  r.metric("probe_samples", static_cast<double>(lat.count));
  r.metric("probe_p50_ms", lat.p50);
  r.metric("probe_p90_ms", lat.p90);
  r.metric("probe_p99_ms", lat.p99);
  r.metric("probe_max_ms", lat.max);
  r.metric("probe_mean_ms", lat.mean);
  r.metric("probe_stalls", static_cast<double>(sampling::count_above(
                               latencies, static_cast<double>(p.stall_threshold_ms))));
  r.metric("memory_max_bytes", static_cast<double>(max_bytes));
  r.metric("usage_peak_bytes", static_cast<double>(usage_peak));
  r.metric("usage_peak_ratio", static_cast<double>(usage_peak) / static_cast<double>(max_bytes));
  r.metric("usage_over_max_samples", static_cast<double>(over_max_samples));
  r.metric("samples", static_cast<double>(samples));
  r.metric("dstate_max", static_cast<double>(dstate_max));
  r.metric("dstate_mean",
           samples ? static_cast<double>(dstate_sum) / static_cast<double>(samples) : 0.0);
  for (const PsiSource& s : psi) s.emit(r);
  if (kmsg.ok()) r.metric("hung_task_reports", static_cast<double>(kmsg.hung_tasks()));
  r.metric("stall_captures", captures);
  r.metric("writer_creates", static_cast<double>(counters->creates.load()));
  r.metric("writer_bulk_mb", static_cast<double>(counters->bulk_bytes.load()) / (1024.0 * 1024.0));
  r.metric("writer_rounds", static_cast<double>(counters->rounds.load()));
  r.metric("writer_enomem", static_cast<double>(counters->enomem.load()));
  r.metric("writer_kills", static_cast<double>(writers.killed()));
  r.metric("writers_unreaped", static_cast<double>(writers_left));
  if (const long after = read_long(kHandleCharges); handle_charges_before >= 0 && after >= 0)
    r.metric("handle_charges", static_cast<double>(after - handle_charges_before));
  if (const long after = read_long(kHandleReclaims); handle_reclaims_before >= 0 && after >= 0)
    r.metric("handle_reclaims", static_cast<double>(after - handle_reclaims_before));

  if (const std::string err = probe.error(); !err.empty()) fail_workload("probe: " + err);
}

}  // namespace kh
