// Statistics invariants of the memory controller, checked on any snapshot
// the agent sent: what the kernel's own counters must agree on whatever the
// workload did. A broken one is a kernel bug (a counter that went below
// zero, charges and LRU pages that moved apart, per-node and total
// statistics that disagree), so it fails the run like a kernel report.
//
// The cgroups checked are the snapshot's `parent` (meta) and every live
// child whose files the snapshot carries (<parent>/<child>/memory.*). A
// file or key a kernel lacks is not checked, never a failure.
//
// The checks (v2 / v1 names):
//   underflow   every counter of memory.stat, memory.current
//               (memory.usage_in_bytes), memory.numa_stat, memory.events,
//               cgroup.stat and /proc/vmstat reads as a non-negative
//               signed 64-bit number: a value the kernel printed negative,
//               or 2^63 and above as an unsigned one (a small negative
//               number wrapped around), went below zero.
//   lru         the LRU lists (inactive_anon + active_anon + inactive_file +
//               active_file + unevictable; v1: the total_* ones) <=
//               memory.current (usage_in_bytes) + tolerance: every page on
//               a memcg's LRU is charged to it.
//   usage       memory.current <= LRU lists + kernel + sock + tolerance (v1:
//               usage_in_bytes <= total LRU lists + memory.kmem.usage_in_bytes
//               + tolerance): every charged page is on an LRU list or is
//               kernel memory. Not anon + file: a THP on the deferred split
//               queue stays whole on the LRU while `anon` counts only its
//               mapped pages (thp-shrinker's queued snapshots).
//   numa        v2: for every key of memory.numa_stat that memory.stat also
//               has, the sum over nodes = the memory.stat value ±
//               tolerance. v1 (pages): each row's N<i> sum = its total=,
//               and total/file/anon/unevictable (hierarchical_*) = the
//               matching (total_*) LRU lists of memory.stat.
//   hierarchy   the parent >= the sum of its live children, for
//               memory.current (usage_in_bytes) and the memory.stat size
//               keys (kHierarchicalKeys; v1: their total_* forms), minus
//               tolerance. Events are left out: they are not sizes, and
//               a dead child's events are the parent's anyway.
//
// Tolerance: nr_cpus x 256 pages (1 MiB per CPU with 4 KiB pages), from
// the snapshot's `nr_cpus` and `page_size` values (else InvariantLimits).
// Per CPU the counters may disagree by up to a charge batch the CPU holds
// precharged (MEMCG_CHARGE_BATCH, 64 pages, in memory.current but in no
// statistic), the updates not yet folded into memory.stat (rstat flushes
// once 64 pages per CPU are pending) and the folios in its LRU batches
// (counted, not yet on a list; 15 in 6.1, 31 in 6.12): 190 pages, rounded
// up. The files are read one after the other, so anything the guest does
// between the reads also counts: snapshots are meant to be taken while the
// workload's tasks are quiet.
#pragma once

#include <string>
#include <vector>

#include "analysis/records.h"
#include "core/run_result.h"

namespace kh {

enum class InvariantCheck { underflow, lru, usage, numa, hierarchy };

const char* to_string(InvariantCheck check);

struct InvariantLimits {
  int cpus = 1;           // when the snapshot has no nr_cpus value
  long page_size = 4096;  // when the snapshot has no page_size value
};

struct InvariantViolation {
  InvariantCheck check;
  std::string snapshot;  // "after"
  std::string file;      // "/sys/fs/cgroup/kharness/memory.numa_stat"
  std::string key;       // "anon", or "" for a single-value file
  std::string detail;    // the numbers: "N0+N1 = 4194304, memory.stat anon = 0, ..."
};

struct InvariantReport {
  int comparisons = 0;  // values checked, over all snapshots
  int snapshots = 0;    // snapshots that had at least one memcg to check
  std::vector<InvariantViolation> violations;
};

// Pure: the checks above on one snapshot.
InvariantReport check_snapshot_invariants(const Snapshot& snap, const InvariantLimits& limits);

// Pure: every snapshot, in order, into one report.
InvariantReport check_invariants(const std::vector<Snapshot>& snaps, const InvariantLimits& limits);

// The report as assertion results: one failed result per violation (at
// most 20, the rest counted in the summary), whose expression names the
// check, snapshot, file and key, and `detail` the numbers; then the
// summary "statistics invariants hold", passed when none broke, its value
// the number of violations.
std::vector<AssertionResult> invariant_assertions(const InvariantReport& report);

}  // namespace kh
