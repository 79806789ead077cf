// workloads.cpp — the records channel, parameter helpers, and the workloads.
//
// To add a workload: write `void run_<name>(Context& ctx)` below and add a
// row to kWorkloads at the bottom of this file. See README.md.
#include "workloads.h"

#include "shared_memory_task.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <vector>

#include "offline_wait.h"

namespace kh {

// ---- records -------------------------------------------------------------

void Records::emit(const nlohmann::json& record) {
  // Kernel files may hold bytes that are not UTF-8; replace rather than throw.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report to
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void Records::ready(const std::string& release, double uptime) {
  emit({{"type", "ready"}, {"release", release}, {"uptime", uptime}});
}

void Records::log(std::string_view message) {
  emit({{"type", "log"}, {"message", message}});
}

void Records::metric(std::string_view name, double value) {
  emit({{"type", "metric"}, {"name", name}, {"value", value}});
}

void Records::error(ErrorKind kind, std::string_view message) {
  emit({{"type", "error"}, {"kind", to_string(kind)}, {"message", message}});
}

void Records::done(bool ok) {
  emit({{"type", "done"}, {"status", ok ? "ok" : "error"}});
}

// ---- parameters ----------------------------------------------------------

std::string Context::param(const std::string& name, const std::string& fallback) const {
  const auto it = config.params.find(name);
  return it == config.params.end() ? fallback : it->second;
}

long Context::param_int(const std::string& name, long fallback, long min, long max) const {
  const auto it = config.params.find(name);
  if (it == config.params.end()) return fallback;
  const std::string& text = it->second;
  long value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    fail_setup("param " + name + ": expected an integer, got '" + text + "'");
  }
  if (value < min || value > max) {
    fail_setup("param " + name + ": " + text + " is outside [" + std::to_string(min) + ", " +
               std::to_string(max) + "]");
  }
  return value;
}

std::string Context::param_choice(const std::string& name, const std::string& fallback,
                                  std::initializer_list<std::string_view> choices) const {
  std::string value = param(name, fallback);
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  std::string allowed;
  for (std::string_view c : choices) {
    if (!allowed.empty()) allowed += "|";
    allowed += c;
  }
  fail_setup("param " + name + ": expected " + allowed + ", got '" + value + "'");
}

// ---- snapshots -----------------------------------------------------------

void emit_cgroup_snapshot(Records& records, std::string_view name, const cgroup::Hierarchy& h,
                          const nlohmann::json& extra) {
  const double start = monotonic_seconds();
  nlohmann::json files = nlohmann::json::object();
  std::string text;
  for (const std::string& path : cgroup::snapshot_files(h)) {
    if (read_file(path, text) == 0) files[path] = text;
  }
  const long live = cgroup::count_dirs(h.root);
  nlohmann::json values = {{"live_memcgs", live},
                           {"live_children", cgroup::child_dirs(h.parent).size()},
                           {"nr_cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                           {"page_size", ::sysconf(_SC_PAGESIZE)}};
  if (const long dying = cgroup::dying_count(h); dying >= 0) values["dying_memcgs"] = dying;
  for (const auto& [key, value] : extra.items()) values[key] = value;
  // What reading it cost, in meta (a string), so it never becomes a metric.
  const long read_us = static_cast<long>((monotonic_seconds() - start) * 1e6);
  records.emit({{"type", "snapshot"},
                {"name", name},
                {"files", std::move(files)},
                {"values", std::move(values)},
                {"meta",
                 {{"cgroup_version", h.version_string()},
                  {"cgroup_root", h.root},
                  {"parent", h.parent},
                  {"read_us", std::to_string(read_us)}}}});
}

namespace {

// ---- dying-cgroup --------------------------------------------------------
//
// The reproducer of the "Eliminate Dying Memory Cgroup" series: create a
// memory cgroup, charge something to it that outlives it, remove it, repeat.
// pin=pagecache charges one page-cache page of a file on the scratch disk;
// pin=kmem charges a child's kernel stack (the 2021 kmem script).

// Children forked by pin=kmem; SIGKILLed and reaped on every exit path.
class Children {
 public:
  Children() = default;
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;
  ~Children() { kill_all(); }

  void add(pid_t pid) { pids_.push_back(pid); }
  size_t size() const { return pids_.size(); }

  void kill_all() {
    for (pid_t pid : pids_) ::kill(pid, SIGKILL);
    for (pid_t pid : pids_) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    pids_.clear();
  }

 private:
  std::vector<pid_t> pids_;
};

std::string pid_text(pid_t pid) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long>(pid));
  (void)ec;
  return std::string(buf, static_cast<size_t>(end - buf));
}

enum class Pin { pagecache, kmem };

struct DyingLoop {
  const cgroup::Hierarchy& h;
  Pin pin;
  int root_procs_fd;      // <root>/cgroup.procs, kept open across iterations
  std::string self;       // our pid as text
  std::string data_path;  // pin=pagecache: the file on the scratch disk
  Children& children;

  static inline const std::array<char, 4096> kPage = [] {
    std::array<char, 4096> page{};
    page.fill('k');
    return page;
  }();

  void back_to_root(std::string_view pid, const std::string& from) {
    if (const int err = write_fd(root_procs_fd, pid)) {
      fail_workload(
          errno_message("move " + std::string(pid) + " from " + from + " to " + h.root, err));
    }
  }

  void charge_pagecache() {
    const int fd = ::open(data_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail_syscall("open " + data_path, errno);
    const ssize_t n = ::write(fd, kPage.data(), kPage.size());
    const int err = n < 0 ? errno : (n == static_cast<ssize_t>(kPage.size()) ? 0 : EIO);
    ::close(fd);
    if (err) fail_syscall("write 4096 bytes to " + data_path, err);
  }

  // The kmem pin: a sleeping task created in the child memcg. It shares
  // our memory (shared_memory_task.h), so all it charges there is its
  // kernel memory (stack, task_struct): what the 2021 script's `sleep`
  // pinned, without the page tables and copied pages a fork would add.
  pid_t spawn_sleeper() {
    const pid_t child = spawn_shared_memory_sleeper();
    if (child < 0) fail_syscall("clone a sleeper", errno);
    children.add(child);
    return child;
  }

  void iteration(long i) {
    const std::string dir = h.parent + "/w" + std::to_string(i);
    if (::mkdir(dir.c_str(), 0755) != 0) fail_syscall("mkdir " + dir, errno);
    if (const int err = cgroup::move_pid(dir, ::getpid())) {
      fail_syscall("move " + self + " to " + dir, err);
    }
    if (pin == Pin::pagecache) {
      charge_pagecache();
      back_to_root(self, dir);
    } else {
      const pid_t child = spawn_sleeper();
      back_to_root(self, dir);
      back_to_root(pid_text(child), dir);
    }
    if (::rmdir(dir.c_str()) != 0) fail_syscall("rmdir " + dir, errno);
  }
};

void run_dying_cgroup(Context& ctx) {
  const long iterations = ctx.param_int("iterations", 2000, 1, 10000000);
  const cgroup::Version version = cgroup::parse_version(ctx.param("cgroup", "v2"));
  const Pin pin = ctx.param_choice("pin", "pagecache", {"pagecache", "kmem"}) == "kmem"
                      ? Pin::kmem
                      : Pin::pagecache;
  const long settle_seconds = ctx.param_int("settle_seconds", 10, 0, 86400);
  const long samples = ctx.param_int("samples", 10, 0, 1000);
  if (pin == Pin::pagecache && ctx.scratch.empty()) {
    fail_setup("pin=pagecache needs a scratch disk (config.json has no \"disk\")");
  }

  cgroup::Hierarchy h = cgroup::mount_memory(version, "kharness");
  cgroup::add_removal_barrier(h);
  if (version == cgroup::Version::v1 && pin == Pin::kmem) {
    const std::string knob = h.root + "/memory.move_charge_at_immigrate";
    if (const int err = write_file(knob, "1")) {
      ctx.records.log(errno_message("write 1 to " + knob + " (continuing without it)", err));
    }
  }

  const std::string root_procs = h.root_procs();
  const int root_procs_fd = ::open(root_procs.c_str(), O_WRONLY | O_CLOEXEC);
  if (root_procs_fd < 0) fail_setup(errno_message("open " + root_procs, errno));
  Children children;
  DyingLoop loop{h, pin, root_procs_fd, pid_text(::getpid()), ctx.scratch + "/dying.dat", children};

  if (pin == Pin::pagecache) {
    // Create the file from the root cgroup, so the ext4 metadata its
    // creation reads (bitmaps, inode table, directory block: block-device
    // page cache that ext4 keeps referenced) is not charged to w1 and
    // does not pin w1 for good. Each iteration then charges exactly the
    // one page it appends.
    const int fd = ::open(loop.data_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail_setup(errno_message("create " + loop.data_path, errno));
    ::close(fd);
  }

  emit_cgroup_snapshot(ctx.records, "before", h);

  const long progress_every = std::max(1L, iterations / 4);
  // The dying count against iterations: `samples` points, the last one at
  // the end of the loop, as metrics dying_at.<i> (added since `before`).
  const long sample_every = samples > 0 ? std::max(1L, iterations / samples) : 0;
  const long dying_at_start = sample_every ? cgroup::dying_count(h) : 0;
  long done = 0;
  const double loop_start = monotonic_seconds();
  // pin=kmem: the loop runs in a task that shares our memory, so moving it
  // between cgroups moves no charges (shared_memory_task.h: 47 ms -> ~3 ms
  // an iteration under TCG on v1) and it pins nothing but the sleepers'
  // kernel memory.
  auto loop_body = [&] {
    if (pin == Pin::kmem) loop.self = pid_text(::getpid());
    for (long i = 1; i <= iterations; ++i) {
      loop.iteration(i);
      done = i;
      if (sample_every && dying_at_start >= 0 && (i % sample_every == 0 || i == iterations)) {
        if (const long dying = cgroup::dying_count(h); dying >= 0) {
          ctx.records.metric("dying_at." + std::to_string(i),
                             static_cast<double>(dying - dying_at_start));
        }
      }
      if (i % progress_every == 0 && i != iterations) {
        ctx.records.log("iteration " + std::to_string(i) + "/" + std::to_string(iterations));
      }
    }
  };
  try {
    if (pin == Pin::kmem)
      run_in_shared_memory_task(loop_body);
    else
      loop_body();
  } catch (const AgentError&) {
    ctx.records.metric("iterations_done", static_cast<double>(done));
    ::close(root_procs_fd);
    throw;
  }
  const double loop_seconds = monotonic_seconds() - loop_start;
  ::close(root_procs_fd);

  // Removals still in flight when the loop ends (offline and free run
  // after RCU grace periods, in workers) are not what the loop left
  // behind: a removal barrier (offline_wait.h) lets them through, then
  // "after". Without one: wait while the dying count falls, 200 ms without
  // a fall or 2 s at most.
  const double quiesce_start = monotonic_seconds();
  if (removal_barrier(h, 2.0) < 0) {
    for (long last = cgroup::dying_count(h), still_ms = 0;
         still_ms < 200 && monotonic_seconds() - quiesce_start < 2.0;) {
      sleep_ms(50);
      const long now = cgroup::dying_count(h);
      still_ms = now < last ? 0 : still_ms + 50;
      last = now;
    }
  }
  ctx.records.metric("after_quiesce_seconds", monotonic_seconds() - quiesce_start);
  emit_cgroup_snapshot(ctx.records, "after", h);

  // Kept: what the parent holds once the removals are done, before
  // anything drops caches. A kernel that reparents keeps the children's
  // page cache here; one that reclaims at offline has dropped it.
  ::sync();
  const double kept_seconds = wait_for_offline_work(h, static_cast<double>(settle_seconds));
  emit_cgroup_snapshot(ctx.records, "kept", h);

  const double drop_start = monotonic_seconds();
  ::sync();
  if (pin == Pin::pagecache) {
    // A page still in a CPU's LRU-add batch holds an extra reference, and
    // drop_caches passes over it: the last child's page kept its memcg
    // dying for all of settle_seconds in about one run in three with few
    // iterations. fadvise(DONTNEED) drains every CPU's batch when it
    // meets such a page (lru_add_drain_all), then drops the file's pages,
    // as drop_caches would.
    const int fd = ::open(loop.data_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (const int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
        ctx.records.log(errno_message("fadvise DONTNEED " + loop.data_path, err));
      ::close(fd);
    }
  }
  if (const int err = write_file("/proc/sys/vm/drop_caches", "3")) {
    ctx.records.log(errno_message("write 3 to /proc/sys/vm/drop_caches", err));
  }
  const double drop_seconds = monotonic_seconds() - drop_start;

  const double settle_start = monotonic_seconds();
  long dying = cgroup::dying_count(h);
  while (dying != 0 && monotonic_seconds() - settle_start < static_cast<double>(settle_seconds)) {
    sleep_ms(10);
    dying = cgroup::dying_count(h);
  }
  const double settle_used = monotonic_seconds() - settle_start;

  emit_cgroup_snapshot(ctx.records, "settled", h);
  children.kill_all();

  ctx.records.metric("loop_seconds", loop_seconds);
  ctx.records.metric("kept_seconds_used", kept_seconds);
  ctx.records.metric("written_kb", pin == Pin::pagecache ? 4.0 * static_cast<double>(done) : 0.0);
  ctx.records.metric("drop_caches_seconds", drop_seconds);
  ctx.records.metric("settle_seconds_used", settle_used);
  ctx.records.metric("iterations_done", static_cast<double>(done));
}

// ---- the table -----------------------------------------------------------

constexpr Workload kWorkloads[] = {
    {"dying-cgroup", run_dying_cgroup,
     "create, charge and remove memory cgroups; count the dying ones (params: iterations, cgroup "
     "v1|v2, "
     "pin pagecache|kmem, settle_seconds, samples)"},
    {"thp-shrinker", run_thp_shrinker,
     "underused THPs on the deferred split queues of memcgs A and B; reclaim B, remove A (params: "
     "thps, order a-first|b-first, placement interleave|split|local, min_nodes, offline_wait_ms)"},
    {"jbd2", run_jbd2,
     "writers in a small memcg do ext4 metadata and buffered writes; a probe outside times create "
     "+ fsync (params: writers, duration_seconds, memory_max_mb, probe_interval_ms, "
     "stall_threshold_ms, ...)"},
    {"script", run_script,
     "run a reproducer script unchanged under bash in the scratch folder, snapshots before and "
     "after (params: script, cgroup v1|v2, args, timeout_seconds)"},
    {"kselftest-cgroup", run_kselftest,
     "run the tree's own selftests, KTAP back to the host (params: target, tests, "
     "timeout_seconds)"},
    {"memcg-stress", run_memcg_stress,
     "rmdir-heavy churn of page-cache memcgs while others reclaim and MGLRU ages them (params: "
     "duration_seconds, rounds, churners, file_kb, files, churn_max_mb, hog_max_mb, ...)"},
    {"shared-file", run_shared_file,
     "successive jobs, each in a fresh memcg, read the same files then leave; per job the reads "
     "from disk, major faults, refaults (params: jobs, files, file_kb, output_kb, gap_ms, "
     "cgroup, settle_seconds)"},
    {"lkdtm", run_lkdtm,
     "provoke a kernel report through LKDTM or the kharness selftest series (params: crash, "
     "detect_seconds, wait_seconds, cgroup)"},
};

}  // namespace

std::span<const Workload> workloads() {
  return kWorkloads;
}

const Workload* find_workload(std::string_view name) {
  for (const Workload& w : kWorkloads) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

}  // namespace kh
