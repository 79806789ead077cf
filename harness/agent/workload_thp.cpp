// workload_thp.cpp — thp-shrinker: THPs on the deferred split queue of two
// memcgs, reclaim of one, removal of the other.
//
// From the review of "mm: switch THP shrinker to list_lru" (v5): with
// cgroup.memory=nokmem the list_lru is not memcg-aware, so the shrinker bit
// lands only on the memcg that queued the first THP (A); reclaim from a memcg
// that queued later (B) may never call the deferred split shrinker, leaving
// B's underused THPs unsplit. And a removed memcg's queue must move to its
// parent, not be lost to reclaim.
//
// Sequence (order=a-first; b-first swaps A and B in the first two steps):
//   snapshot start
//   for X in A, B: snapshot start_X; move into X; fault `thps` THPs
//     (MADV_HUGEPAGE, one write per huge page); back to the root;
//     snapshot faulted_X; MADV_DONTNEED all but the first 4 KiB page of each
//     huge page (the THP goes on the deferred split queue); snapshot queued_X
//   snapshot queued
//   B's memory.current into B's memory.reclaim        -> snapshot reclaimed
//   rmdir A (its THPs are still mapped by us), wait offline_wait_ms
//                                                     -> snapshot removed
//   the parent's memory.current into its memory.reclaim -> snapshot settled
//   2 into /proc/sys/vm/drop_caches (every shrinker)  -> snapshot dropped
// The agent keeps every mapping until the end, so the THPs stay alive.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads.h"

namespace kh {
namespace {

constexpr const char* kThpDir = "/sys/kernel/mm/transparent_hugepage";
constexpr const char* kNodeDir = "/sys/devices/system/node";

// mbind(2) modes (linux/mempolicy.h), called through syscall(): the guest
// has no libnuma.
constexpr int kMpolBind = 2;
constexpr int kMpolInterleave = 3;

enum class Order { a_first, b_first };
enum class Placement { interleave, split, local };

// The number at the start of a sysfs/cgroup file ("2097152\n"), or -1.
long read_number(const std::string& path) {
  std::string text;
  if (read_file(path, text) != 0) return -1;
  long value = -1;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  (void)ptr;
  return ec == std::errc() ? value : -1;
}

// NUMA nodes the guest kernel sees: node0, node1, ... under sysfs (a kernel
// without CONFIG_NUMA has no such folder: one node).
long count_nodes() {
  long n = 0;
  while (path_exists(std::string(kNodeDir) + "/node" + std::to_string(n))) ++n;
  return n == 0 ? 1 : n;
}

// An anonymous mapping of `count` huge pages, aligned to the huge page size.
// Unmapped on destruction.
class HugeRegion {
 public:
  HugeRegion(size_t count, size_t huge) : huge_(huge), count_(count) {
    len_ = (count + 1) * huge;
    void* p = ::mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail_syscall("mmap " + std::to_string(len_), errno);
    map_ = static_cast<char*>(p);
    const auto addr = reinterpret_cast<uintptr_t>(map_);
    base_ = map_ + ((huge - addr % huge) % huge);
  }
  HugeRegion(const HugeRegion&) = delete;
  HugeRegion& operator=(const HugeRegion&) = delete;
  ~HugeRegion() { ::munmap(map_, len_); }

  char* base() const { return base_; }
  size_t bytes() const { return count_ * huge_; }
  size_t count() const { return count_; }
  size_t huge() const { return huge_; }

 private:
  size_t huge_, count_, len_ = 0;
  char* map_ = nullptr;
  char* base_ = nullptr;
};

struct ThpRun {
  Context& ctx;
  const cgroup::Hierarchy& h;
  long nodes;
  long huge;

  std::string dir(const char* name) const { return h.parent + "/" + name; }

  // emit_cgroup_snapshot (the parent's and A's and B's memory.stat,
  // memory.numa_stat and memory.current while they exist), plus the shape.
  void snapshot(const std::string& name) {
    emit_cgroup_snapshot(ctx.records, name, h, {{"numa_nodes", nodes}, {"hpage_pmd_size", huge}});
  }

  void move_self(const std::string& to) {
    if (const int err = cgroup::move_pid(to, ::getpid()))
      fail_syscall("move " + std::to_string(::getpid()) + " to " + to, err);
  }

  // The memory policy for memcg `index` (0 = A, 1 = B) over its region.
  void place(const HugeRegion& r, int index, Placement placement) {
    if (placement == Placement::local) return;
    unsigned long mask = 0;
    int mode = kMpolBind;
    if (placement == Placement::interleave) {
      mode = kMpolInterleave;
      for (long n = 0; n < nodes && n < 64; ++n) mask |= 1UL << n;
    } else {
      mask = 1UL << (index == 0 ? 0 : nodes - 1);
    }
    if (::syscall(SYS_mbind, r.base(), r.bytes(), mode, &mask, 64UL, 0U) != 0)
      fail_syscall("mbind", errno);
  }

  // Faults every huge page of `r` from inside memcg `name`.
  void fault(const HugeRegion& r, const char* name) {
    if (::madvise(r.base(), r.bytes(), MADV_HUGEPAGE) != 0)
      fail_syscall("madvise MADV_HUGEPAGE", errno);
    move_self(dir(name));
    for (size_t i = 0; i < r.count(); ++i) r.base()[i * r.huge()] = 1;
    move_self(h.root);
  }

  // Zaps all but the first base page of each huge page: the THP stays
  // allocated, partly mapped, and goes on the deferred split queue.
  void underuse(const HugeRegion& r) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    for (size_t i = 0; i < r.count(); ++i) {
      if (::madvise(r.base() + i * r.huge() + page, r.huge() - page, MADV_DONTNEED) != 0)
        fail_syscall("madvise MADV_DONTNEED", errno);
    }
  }

  // Writes the cgroup's own usage to its memory.reclaim and times it. With
  // no swap, anon memory only shrinks by splitting THPs, which reclaim does
  // not count as reclaimed: EAGAIN (did not reach the target) is expected.
  void reclaim(const std::string& cg, const std::string& metric) {
    const long current = read_number(cg + "/memory.current");
    if (current < 0) fail_workload("read " + cg + "/memory.current");
    const std::string request = std::to_string(std::max(current, 4096L));
    const double start = monotonic_seconds();
    const int err = write_file(cg + "/memory.reclaim", request);
    ctx.records.metric(metric + "_seconds", monotonic_seconds() - start);
    ctx.records.metric(metric + "_eagain", err == EAGAIN ? 1 : 0);
    if (err != 0 && err != EAGAIN)
      fail_syscall("write " + request + " to " + cg + "/memory.reclaim", err);
  }
};

}  // namespace

void run_thp_shrinker(Context& ctx) {
  const long thps = ctx.param_int("thps", 32, 1, 4096);
  const Order order = ctx.param_choice("order", "a-first", {"a-first", "b-first"}) == "a-first"
                          ? Order::a_first
                          : Order::b_first;
  const std::string placement_text =
      ctx.param_choice("placement", "interleave", {"interleave", "split", "local"});
  const Placement placement = placement_text == "interleave" ? Placement::interleave
                              : placement_text == "split"    ? Placement::split
                                                             : Placement::local;
  const long min_nodes = ctx.param_int("min_nodes", 2, 1, 64);
  const long offline_wait_ms = ctx.param_int("offline_wait_ms", 1000, 0, 600000);

  const std::string thp = kThpDir;
  if (!path_exists(thp + "/enabled"))
    fail_setup(thp + "/enabled: missing (a kernel without CONFIG_TRANSPARENT_HUGEPAGE)");
  if (const int err = write_file(thp + "/enabled", "madvise"))
    fail_setup(errno_message("write madvise to " + thp + "/enabled", err));
  // khugepaged would collapse a range with one page left into a new THP
  // (charged to whichever memcg we are in then), freeing the queued one.
  if (const int err = write_file(thp + "/khugepaged/max_ptes_none", "0"))
    ctx.records.log(errno_message("write 0 to khugepaged/max_ptes_none (continuing)", err));
  const long huge = read_number(thp + "/hpage_pmd_size");
  if (huge <= 0) fail_setup("read " + thp + "/hpage_pmd_size");

  const long nodes = count_nodes();
  if (nodes < min_nodes) {
    fail_setup("the guest sees " + std::to_string(nodes) + " NUMA node(s), min_nodes is " +
               std::to_string(min_nodes) +
               " (machine.numa_nodes and a NUMA kernel: see workloads/thp-shrinker/README.md)");
  }

  const cgroup::Hierarchy h = cgroup::mount_memory(cgroup::Version::v2, "kharness");
  ThpRun run{ctx, h, nodes, huge};
  for (const char* name : {"A", "B"}) {
    const std::string d = run.dir(name);
    if (const int err = make_dir(d)) fail_setup(errno_message("mkdir " + d, err));
  }

  run.snapshot("start");
  HugeRegion a(static_cast<size_t>(thps), static_cast<size_t>(huge));
  HugeRegion b(static_cast<size_t>(thps), static_cast<size_t>(huge));
  const std::vector<int> sequence = order == Order::a_first ? std::vector{0, 1} : std::vector{1, 0};
  for (const int index : sequence) {
    const HugeRegion& r = index == 0 ? a : b;
    const char* name = index == 0 ? "A" : "B";
    run.snapshot(std::string("start_") + name);
    run.place(r, index, placement);
    run.fault(r, name);
    run.snapshot(std::string("faulted_") + name);
    run.underuse(r);
    run.snapshot(std::string("queued_") + name);
  }
  run.snapshot("queued");

  run.reclaim(run.dir("B"), "b_reclaim");
  run.snapshot("reclaimed");

  // A still has its queued THPs (unless the kernel split them meanwhile);
  // nothing runs in it, so it can go. Its pages stay charged to it.
  const std::string a_dir = run.dir("A");
  if (::rmdir(a_dir.c_str()) != 0) fail_syscall("rmdir " + a_dir, errno);
  // rmdir only starts the removal: the memcg goes offline (which is when
  // the kernel would hand its queue to the parent) after an RCU grace
  // period, in a worker. Reclaim before that still sees A online.
  sleep_ms(offline_wait_ms);
  run.snapshot("removed");

  run.reclaim(h.parent, "parent_reclaim");
  run.snapshot("settled");

  // Global shrinking: every shrinker of every memcg and node.
  if (const int err = write_file("/proc/sys/vm/drop_caches", "2"))
    ctx.records.log(errno_message("write 2 to /proc/sys/vm/drop_caches", err));
  run.snapshot("dropped");
}

}  // namespace kh
