// workload_stress.cpp — the memcg-stress workload: rmdir-heavy churn of
// memory cgroups that wrote page cache, while other tasks reclaim from
// them and (MGLRU on) age their generations, for a bounded time.
//
// The races it aims at are the ones the reviews of the "Eliminate Dying
// Memory Cgroup" series name: a memcg going offline (its pages reparented,
// its LRU generations spliced into the parent's) while reclaim walks the
// same lruvecs (limit reclaim of the churn parent, proactive memory.reclaim)
// and while MGLRU's aging walks them (debugfs lru_gen commands). A kernel
// report during the run fails it on the host (console findings); the
// snapshots taken between rounds, with every task paused, feed the host's
// statistics invariants.
//
// Layout (cgroup v2, under <root>/kharness):
//   churn/        memory.max = churn_max_mb; the churners' children c<k>_<i>
//                 come and go here, each writing file_kb of page cache, and
//                 two resident children r0, r1 stay for the whole run
//   hog/          memory.max = hog_max_mb; one task re-reads a file larger
//                 than that (written beforehand from the root, clean):
//                 reclaim inside the sibling, all the time
// Tasks (forked; moving a process moves all its threads):
//   churner x N   mkdir c<k>_<i>, move in, truncate + write a file, move
//                 out, rmdir; the files outnumber churn's limit, so limit
//                 reclaim runs over live and dying children
//   reclaimer     writes reclaim_kb to churn/ and kharness/ memory.reclaim
//   ager          MGLRU on and /sys/kernel/debug/lru_gen present: for each
//                 memcg under churn/, "+ id node max_seq 0 1" (a forced
//                 aging walk) and "- id node min_seq 0 64" (eviction)
//   hog           in hog/, reads its file over and over
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "lru_gen.h"
#include "workloads.h"

namespace kh {
namespace {

enum class Phase : int { run, pause, stop };

// Counters the tasks share with the agent (a MAP_SHARED page).
struct Shared {
  std::atomic<int> phase{static_cast<int>(Phase::run)};
  std::atomic<int> paused{0};    // tasks waiting in the pause
  std::atomic<long> churn{0};    // children created, written and removed
  std::atomic<long> reclaim{0};  // memory.reclaim writes
  std::atomic<long> reclaim_eagain{0};
  std::atomic<long> aging{0};            // lru_gen aging commands accepted
  std::atomic<long> eviction{0};         // lru_gen eviction commands accepted
  std::atomic<long> lru_gen_refused{0};  // commands the kernel refused (memcg gone, stale seq)
  std::atomic<long> hog_passes{0};       // whole reads of the hog's file
  std::atomic<int> failed{0};
  char error[512] = {};  // the first task's error, when failed
};

constexpr const char* kDebugfs = "/sys/kernel/debug";
constexpr const char* kLruGen = "/sys/kernel/debug/lru_gen";

struct StressParams {
  long duration_seconds, rounds, churners, file_kb, files, churn_max_mb, hog_max_mb, hog_file_mb,
      reclaim_kb, reclaim_interval_ms;
  std::string aging;  // auto | off

  static StressParams from(const Context& ctx) {
    StressParams p;
    p.duration_seconds = ctx.param_int("duration_seconds", 60, 1, 86400);
    p.rounds = ctx.param_int("rounds", 4, 1, 1000);
    p.churners = ctx.param_int("churners", 2, 1, 64);
    p.file_kb = ctx.param_int("file_kb", 256, 4, 65536);
    p.files = ctx.param_int("files", 128, 1, 100000);
    p.churn_max_mb = ctx.param_int("churn_max_mb", 24, 4, 65536);
    p.hog_max_mb = ctx.param_int("hog_max_mb", 24, 4, 65536);
    p.hog_file_mb = ctx.param_int("hog_file_mb", 40, 1, 65536);
    p.reclaim_kb = ctx.param_int("reclaim_kb", 4096, 4, 1048576);
    p.reclaim_interval_ms = ctx.param_int("reclaim_interval_ms", 5, 0, 60000);
    p.aging = ctx.param_choice("aging", "auto", {"auto", "off"});
    return p;
  }
};

// Runs in a forked task: records the first error for the agent and exits.
[[noreturn]] void task_fail(Shared& s, const std::string& message) {
  int expected = 0;
  if (s.failed.compare_exchange_strong(expected, 1))
    std::strncpy(s.error, message.c_str(), sizeof s.error - 1);
  ::_exit(1);
}

// Between two steps of its loop a task checks the phase: it waits out a
// pause (counted in `paused`, so the agent knows everyone is quiet) and
// returns false when told to stop.
bool keep_going(Shared& s) {
  for (;;) {
    const auto phase = static_cast<Phase>(s.phase.load());
    if (phase == Phase::run) return true;
    if (phase == Phase::stop) return false;
    s.paused.fetch_add(1);
    while (static_cast<Phase>(s.phase.load()) == Phase::pause) sleep_ms(2);
    s.paused.fetch_sub(1);
  }
}

std::string number(long v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, static_cast<size_t>(end - buf));
}

void move_or_fail(Shared& s, const std::string& dir) {
  if (const int err = cgroup::move_pid(dir, ::getpid()))
    task_fail(s, errno_message("move " + number(::getpid()) + " to " + dir, err));
}

// Truncates `path`, writes `kb` KiB of page cache to it and fdatasyncs, so
// what it leaves is clean page cache that reclaim can always take: dirty
// pages filling a small memcg faster than writeback cleans them end in the
// memcg OOM killer (seen on 6.1 with MGLRU on), which is not the race here.
int write_file_kb(const std::string& path, long kb) {
  static const std::string chunk(64 * 1024, 's');
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  long left = kb * 1024;
  int err = 0;
  while (left > 0 && err == 0) {
    const size_t n = static_cast<size_t>(std::min<long>(left, static_cast<long>(chunk.size())));
    const ssize_t w = ::write(fd, chunk.data(), n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      err = w < 0 ? errno : EIO;
    else
      left -= w;
  }
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  ::close(fd);
  return err;
}

void churner(Shared& s, const cgroup::Hierarchy& h, const std::string& churn,
             const std::string& dir, long k, const StressParams& p) {
  const std::string root = h.root;
  for (long i = 0; keep_going(s); ++i) {
    const std::string child = churn + "/c" + number(k) + "_" + number(i);
    if (::mkdir(child.c_str(), 0755) != 0) task_fail(s, errno_message("mkdir " + child, errno));
    move_or_fail(s, child);
    const std::string file = dir + "/f" + number((k * p.files / p.churners + i) % p.files);
    // ENOMEM/ENOSPC would be the limit or the disk: the run is mis-sized,
    // and saying so beats a silent pass.
    if (const int err = write_file_kb(file, p.file_kb))
      task_fail(
          s, errno_message("write " + number(p.file_kb) + " KiB to " + file + " in " + child, err));
    move_or_fail(s, root);
    if (::rmdir(child.c_str()) != 0) task_fail(s, errno_message("rmdir " + child, errno));
    s.churn.fetch_add(1);
  }
}

void reclaimer(Shared& s, const std::vector<std::string>& targets, const StressParams& p) {
  const std::string amount = number(p.reclaim_kb) + "K";
  while (keep_going(s)) {
    for (const std::string& t : targets) {
      const std::string path = t + "/memory.reclaim";
      const int err = write_file(path, amount);
      // EAGAIN: less than asked could be reclaimed (no swap for anon).
      if (err == EAGAIN)
        s.reclaim_eagain.fetch_add(1);
      else if (err != 0)
        task_fail(s, errno_message("write " + amount + " to " + path, err));
      s.reclaim.fetch_add(1);
    }
    if (p.reclaim_interval_ms > 0) sleep_ms(p.reclaim_interval_ms);
  }
}

void ager(Shared& s, const std::string& churn_path) {
  const int fd = ::open(kLruGen, O_WRONLY | O_CLOEXEC);
  if (fd < 0) task_fail(s, errno_message(std::string("open ") + kLruGen, errno));
  std::string text;
  while (keep_going(s)) {
    if (const int err = read_file(kLruGen, text))
      task_fail(s, errno_message(std::string("read ") + kLruGen, err));
    for (const lru_gen::LruVec& v : lru_gen::parse(text)) {
      if (v.memcg <= 0 || v.max_seq < 0 || !v.path.starts_with(churn_path)) continue;
      const std::string prefix = " " + number(v.memcg) + " " + number(v.node) + " ";
      // Forced aging (can_swap 0, force_scan 1): the page table walk the
      // series' reviews worry about. Then evict 64 pages of file from the
      // oldest generation the command allows.
      const std::string age = "+" + prefix + number(v.max_seq) + " 0 1";
      if (write_fd(fd, age) == 0)
        s.aging.fetch_add(1);
      else
        s.lru_gen_refused.fetch_add(1);
      const std::string evict = "-" + prefix + number(v.min_seq) + " 0 64";
      if (write_fd(fd, evict) == 0)
        s.eviction.fetch_add(1);
      else
        s.lru_gen_refused.fetch_add(1);
      if (!keep_going(s)) break;
    }
  }
  ::close(fd);
}

// The hog's file is written before the tasks start, from the root cgroup,
// and dropped from the page cache: the hog's reads charge it to hog/.
void write_hog_file(const std::string& file, const StressParams& p) {
  if (const int err = write_file_kb(file, p.hog_file_mb * 1024))
    fail_setup(errno_message("write " + number(p.hog_file_mb) + " MiB to " + file, err));
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_setup(errno_message("open " + file, errno));
  const int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  if (err) fail_setup(errno_message("posix_fadvise DONTNEED " + file, err));
}

void hog(Shared& s, const std::string& hog_dir, const std::string& file) {
  move_or_fail(s, hog_dir);
  std::vector<char> buf(64 * 1024);
  while (keep_going(s)) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) task_fail(s, errno_message("open " + file, errno));
    ssize_t n = 0;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
      if (static_cast<Phase>(s.phase.load()) != Phase::run && !keep_going(s)) break;
    }
    const int err = n < 0 ? errno : 0;
    ::close(fd);
    if (err) task_fail(s, errno_message("read " + file, err));
    s.hog_passes.fetch_add(1);
  }
}

// The forked tasks: killed and reaped on every way out of the workload.
class Tasks {
 public:
  explicit Tasks(Shared& s) : s_(s) {}
  Tasks(const Tasks&) = delete;
  Tasks& operator=(const Tasks&) = delete;
  ~Tasks() {
    for (pid_t pid : pids_) ::kill(pid, SIGKILL);
    reap();
  }

  template <class F>
  void start(const std::string& name, F&& body) {
    const pid_t pid = ::fork();
    if (pid < 0) fail_workload(errno_message("fork", errno));
    if (pid == 0) {
      body();
      ::_exit(0);
    }
    pids_.push_back(pid);
    names_.push_back(name);
  }

  size_t size() const { return pids_.size(); }

  void reap() {
    for (pid_t pid : pids_)
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    pids_.clear();
    names_.clear();
  }

  // Throws the first task's error, if one failed, or names a task that
  // ended before it was told to (killed: the memcg OOM killer, an oops in
  // one of its syscalls).
  void check() {
    if (s_.failed.load()) fail_workload(std::string(s_.error));
    for (size_t i = 0; i < pids_.size(); ++i) {
      int status = 0;
      if (::waitpid(pids_[i], &status, WNOHANG) != pids_[i]) continue;
      if (s_.failed.load()) fail_workload(std::string(s_.error));
      pids_.erase(pids_.begin() + static_cast<long>(i));
      fail_workload("stress task " + names_[i] + " ended early: " +
                    (WIFSIGNALED(status) ? "killed by signal " + number(WTERMSIG(status))
                                         : "exit status " + number(WEXITSTATUS(status))));
    }
  }

 private:
  Shared& s_;
  std::vector<pid_t> pids_;
  std::vector<std::string> names_;
};

void must_mkdir(const std::string& path) {
  if (const int err = make_dir(path)) fail_setup(errno_message("mkdir " + path, err));
}

void must_write(const std::string& path, const std::string& value) {
  if (const int err = write_file(path, value))
    fail_setup(errno_message("write " + value + " to " + path, err));
}

bool mglru_on() {
  std::string text;
  if (read_file("/sys/kernel/mm/lru_gen/enabled", text) != 0) return false;
  return std::strtoul(text.c_str(), nullptr, 0) != 0;
}

// Whether the aging task can run: MGLRU on and debugfs's lru_gen there.
bool lru_gen_debugfs(Records& records) {
  if (!path_exists(kLruGen) &&
      ::mount("debugfs", kDebugfs, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0 &&
      errno != EBUSY) {
    records.log(errno_message("mount -t debugfs (no aging walks: reclaim ages alone)", errno));
    return false;
  }
  if (!path_exists(kLruGen)) {
    records.log(std::string(kLruGen) + " absent: no aging walks, reclaim ages alone");
    return false;
  }
  return true;
}

}  // namespace

void run_memcg_stress(Context& ctx) {
  const StressParams p = StressParams::from(ctx);
  if (ctx.scratch.empty()) fail_setup("memcg-stress needs the ext4 scratch disk (machine.disk_mb)");
  const cgroup::Hierarchy h = cgroup::mount_memory(cgroup::Version::v2, "kharness");
  const std::string churn = h.parent + "/churn";
  const std::string hog_dir = h.parent + "/hog";
  must_mkdir(churn);
  must_write(churn + "/cgroup.subtree_control", "+memory");
  must_write(churn + "/memory.max", number(p.churn_max_mb * 1024 * 1024));
  must_mkdir(hog_dir);
  must_write(hog_dir + "/memory.max", number(p.hog_max_mb * 1024 * 1024));
  const std::string dir = ctx.scratch + "/stress";
  must_mkdir(dir);

  const bool aging = p.aging == "auto" && mglru_on() && lru_gen_debugfs(ctx.records);
  ctx.records.metric("aging_walks", aging ? 1 : 0);
  // lru_gen names a memcg by its path from the hierarchy's root.
  const std::string churn_path = churn.substr(h.root.size());

  void* mem =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail_setup(errno_message("mmap the tasks' counters", errno));
  Shared& s = *new (mem) Shared();
  Tasks tasks(s);

  // Two residents that stay all run: the invariants compare churn with them.
  for (const char* r : {"r0", "r1"}) {
    const std::string child = churn + "/" + r;
    must_mkdir(child);
    tasks.start(child, [&, child] {
      move_or_fail(s, child);
      if (const int err =
              write_file_kb(dir + "/" + (child.back() == '0' ? "r0" : "r1"), p.file_kb * 4))
        task_fail(s, errno_message("write the resident file of " + child, err));
    });
  }
  tasks.reap();
  tasks.check();

  emit_cgroup_snapshot(ctx.records, "before", h);

  write_hog_file(dir + "/hog", p);
  tasks.start("hog", [&] { hog(s, hog_dir, dir + "/hog"); });
  for (long k = 0; k < p.churners; ++k)
    tasks.start("churner " + number(k), [&, k] { churner(s, h, churn, dir, k, p); });
  tasks.start("reclaimer", [&] { reclaimer(s, {churn, h.parent}, p); });
  if (aging) tasks.start("ager", [&] { ager(s, churn_path); });
  const int workers = static_cast<int>(tasks.size());

  const double start = monotonic_seconds();
  const double round = static_cast<double>(p.duration_seconds) / static_cast<double>(p.rounds);
  double pause_max = 0;
  for (long r = 1; r <= p.rounds; ++r) {
    const double until = start + round * static_cast<double>(r);
    while (monotonic_seconds() < until) {
      tasks.check();
      sleep_ms(20);
    }
    // Quiet point: every task between two steps, then the snapshots.
    s.phase.store(static_cast<int>(Phase::pause));
    const double pause_start = monotonic_seconds();
    while (s.paused.load() < workers) {
      tasks.check();
      if (monotonic_seconds() - pause_start > 120)
        fail_workload("the stress tasks did not pause within 120 s (" + number(s.paused.load()) +
                      " of " + number(workers) + ")");
      sleep_ms(2);
    }
    pause_max = std::max(pause_max, monotonic_seconds() - pause_start);
    const std::string name = "round" + number(r);
    emit_cgroup_snapshot(ctx.records, name, h);
    cgroup::Hierarchy inner = h;
    inner.parent = churn;
    emit_cgroup_snapshot(ctx.records, name + "_churn", inner);
    ctx.records.log(name + ": " + number(s.churn.load()) + " cgroups churned, " +
                    number(s.reclaim.load()) + " reclaim writes, " + number(s.aging.load()) +
                    " aging walks");
    s.phase.store(static_cast<int>(r == p.rounds ? Phase::stop : Phase::run));
  }
  const double stress_seconds = monotonic_seconds() - start;
  tasks.reap();
  tasks.check();

  for (const char* r : {"r0", "r1"}) {
    const std::string child = churn + "/" + r;
    if (::rmdir(child.c_str()) != 0) fail_workload(errno_message("rmdir " + child, errno));
  }
  emit_cgroup_snapshot(ctx.records, "after", h);

  Records& out = ctx.records;
  out.metric("stress_seconds", stress_seconds);
  out.metric("pause_seconds_max", pause_max);
  out.metric("churn_cgroups", static_cast<double>(s.churn.load()));
  out.metric("reclaim_writes", static_cast<double>(s.reclaim.load()));
  out.metric("reclaim_eagain", static_cast<double>(s.reclaim_eagain.load()));
  out.metric("aging_commands", static_cast<double>(s.aging.load()));
  out.metric("eviction_commands", static_cast<double>(s.eviction.load()));
  out.metric("lru_gen_refused", static_cast<double>(s.lru_gen_refused.load()));
  out.metric("hog_passes", static_cast<double>(s.hog_passes.load()));
  ::munmap(mem, sizeof(Shared));
}

}  // namespace kh
