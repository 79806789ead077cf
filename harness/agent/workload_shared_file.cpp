// workload_shared_file.cpp — the cover letter's motivating case for the
// "Eliminate Dying Memory Cgroup" series: successive instances of one job,
// each started in a fresh memory cgroup, read the same files; each leaves
// and its cgroup is removed. Whether a later job finds the files in the
// page cache, and whether the removed cgroups linger, tells a kernel that
// leaks (pages pin the first job's memcg: cached, N dying), one that drops
// the pages at removal (read again every time, none dying) and one that
// reparents them (cached, none dying).
//
// Setup from the root cgroup: write `files` files of `file_kb` each to the
// scratch disk, sync, drop caches (job 1 reads from disk on every kernel).
// Then `jobs` times: mkdir kharness/j<i>, move in, map each file and touch
// every page, write a small output file of its own (a job's results: page
// cache only this job charges), move back, rmdir, wait `gap_ms`. Around each job it reads
// /proc/vmstat (pgmajfault, workingset_refault_file) and the scratch
// disk's /sys/block/<dev>/stat (sectors read): system-wide counters, exact
// at any moment (a memcg's memory.stat is flushed lazily), and nothing
// else runs meanwhile.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "cgroup.h"
#include "offline_wait.h"
#include "shared_file.h"
#include "workloads.h"

namespace kh {
namespace {

constexpr long kPage = 4096;

struct Counters {
  double sectors_read = 0;
  double majfault = 0;
  double refault = 0;
};

class CounterReader {
 public:
  explicit CounterReader(const std::string& disk) {
    const std::size_t slash = disk.rfind('/');
    block_stat_ =
        "/sys/block/" + (slash == std::string::npos ? disk : disk.substr(slash + 1)) + "/stat";
  }

  Counters read() const {
    Counters c;
    std::string text;
    if (const int err = read_file(block_stat_, text)) fail_setup(errno_message(block_stat_, err));
    const auto sectors = shared_file::sectors_read(text);
    if (!sectors) fail_setup(block_stat_ + ": no sectors-read field in '" + text + "'");
    c.sectors_read = *sectors;
    if (const int err = read_file("/proc/vmstat", text))
      fail_setup(errno_message("/proc/vmstat", err));
    c.majfault = shared_file::row_value(text, "pgmajfault").value_or(0);
    c.refault = shared_file::row_value(text, "workingset_refault_file")
                    .value_or(shared_file::row_value(text, "workingset_refault").value_or(0));
    return c;
  }

 private:
  std::string block_stat_;
};

void write_input(const std::string& path, long kb) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_setup(errno_message("create " + path, errno));
  std::array<char, kPage> page{};
  for (long off = 0; off < kb * 1024; off += kPage) {
    page.fill(static_cast<char>('a' + (off / kPage) % 26));
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size())) {
      const int err = errno;
      ::close(fd);
      fail_setup(errno_message("write " + path, err ? err : EIO));
    }
  }
  ::close(fd);
}

// Maps `path` and reads one byte of every page: a page not in the cache is
// a major fault and a read from the disk.
unsigned long touch_file(const std::string& path, long kb) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_workload(errno_message("open " + path, errno));
  const size_t len = static_cast<size_t>(kb) * 1024;
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  const int err = map == MAP_FAILED ? errno : 0;
  ::close(fd);
  if (err) fail_workload(errno_message("mmap " + path, err));
  unsigned long sum = 0;
  const volatile unsigned char* bytes = static_cast<const unsigned char*>(map);
  for (size_t off = 0; off < len; off += kPage) sum += bytes[off];
  ::munmap(map, len);
  return sum;
}

void write_output(const std::string& path, long kb) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_syscall("create " + path, errno);
  std::array<char, kPage> page{};
  page.fill('o');
  for (long off = 0; off < kb * 1024; off += kPage) {
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size())) {
      const int err = errno;
      ::close(fd);
      fail_syscall("write " + path, err ? err : EIO);
    }
  }
  ::close(fd);
}

}  // namespace

void run_shared_file(Context& ctx) {
  const long jobs = ctx.param_int("jobs", 10, 2, 100000);
  const long files = ctx.param_int("files", 4, 1, 1000);
  const long file_kb = ctx.param_int("file_kb", 1024, 4, 1024 * 1024);
  const long output_kb = ctx.param_int("output_kb", 16, 4, 1024 * 1024);
  const long settle_seconds = ctx.param_int("settle_seconds", 10, 0, 86400);
  const long gap_ms = ctx.param_int("gap_ms", 500, 0, 3600 * 1000);
  const cgroup::Version version = cgroup::parse_version(ctx.param("cgroup", "v2"));
  if (ctx.scratch.empty())
    fail_setup("shared-file needs a scratch disk (config.json has no \"disk\")");
  if (file_kb % 4 != 0)
    fail_setup("param file_kb: expected a multiple of 4, got " + std::to_string(file_kb));

  cgroup::Hierarchy h = cgroup::mount_memory(version, "kharness");
  cgroup::add_removal_barrier(h);
  const CounterReader counters(ctx.config.disk);
  const std::string self = std::to_string(::getpid());
  const std::string root_procs = h.root_procs();

  // The file set, written from the root cgroup, then out of the cache.
  std::vector<std::string> inputs;
  for (long f = 0; f < files; ++f) {
    inputs.push_back(ctx.scratch + "/shared" + std::to_string(f) + ".dat");
    write_input(inputs.back(), file_kb);
  }
  ::sync();
  if (const int err = write_file("/proc/sys/vm/drop_caches", "3"))
    fail_setup(errno_message("write 3 to /proc/sys/vm/drop_caches", err));

  emit_cgroup_snapshot(ctx.records, "before", h);
  const long dying_before = cgroup::dying_count(h);

  const double set_kb = static_cast<double>(files * file_kb);
  std::vector<shared_file::Job> done;
  const double jobs_start = monotonic_seconds();
  for (long i = 1; i <= jobs; ++i) {
    const std::string dir = h.parent + "/j" + std::to_string(i);
    if (::mkdir(dir.c_str(), 0755) != 0) fail_workload(errno_message("mkdir " + dir, errno));
    const Counters c0 = counters.read();
    if (const int err = cgroup::move_pid(dir, ::getpid()))
      fail_workload(errno_message("move " + self + " to " + dir, err));
    for (const std::string& in : inputs) touch_file(in, file_kb);
    write_output(ctx.scratch + "/out" + std::to_string(i) + ".dat", output_kb);
    if (const int err = write_file(root_procs, self))
      fail_workload(errno_message("move " + self + " from " + dir + " to " + h.root, err));
    const Counters c1 = counters.read();
    if (::rmdir(dir.c_str()) != 0) fail_workload(errno_message("rmdir " + dir, errno));
    // The next instance starts a little later, as a restarted job does:
    // the removed cgroup's offline work (reparenting or reclaim) runs
    // meanwhile, so what the next job finds does not depend on a race.
    if (i < jobs) sleep_ms(gap_ms);

    shared_file::Job job{(c1.sectors_read - c0.sectors_read) / 2, c1.majfault - c0.majfault,
                         c1.refault - c0.refault};
    const std::string n = std::to_string(i);
    ctx.records.metric("read_kb_at." + n, job.read_kb);
    ctx.records.metric("majfault_at." + n, job.majfault);
    ctx.records.metric("refault_at." + n, job.refault);
    if (const long dying = cgroup::dying_count(h); dying >= 0 && dying_before >= 0)
      ctx.records.metric("dying_at." + n, static_cast<double>(dying - dying_before));
    done.push_back(job);
  }
  const double jobs_seconds = monotonic_seconds() - jobs_start;
  emit_cgroup_snapshot(ctx.records, "after", h);

  // As dying-cgroup's "kept": what the kernel kept once its offline work
  // is done.
  ::sync();
  const double kept_seconds = wait_for_offline_work(h, static_cast<double>(settle_seconds));
  emit_cgroup_snapshot(ctx.records, "kept", h);

  const shared_file::Summary s = shared_file::summarize(done, set_kb);
  ctx.records.metric("set_kb", set_kb);
  ctx.records.metric("first_read_kb", done.front().read_kb);
  ctx.records.metric("first_majfault", done.front().majfault);
  ctx.records.metric("later_read_kb", s.later_read_kb);
  ctx.records.metric("later_majfault", s.later_majfault);
  ctx.records.metric("later_refault", s.later_refault);
  ctx.records.metric("later_jobs_reread", s.later_jobs_reread);
  ctx.records.metric("jobs_seconds", jobs_seconds);
  ctx.records.metric("kept_seconds_used", kept_seconds);
}

}  // namespace kh
