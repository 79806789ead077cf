#include "analysis/invariants.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace kh {
namespace {

// A real thp-shrinker snapshot (6.1.192, two NUMA nodes, children A and B
// with their memory.stat, memory.current and memory.numa_stat).
Snapshot thp_reclaimed() {
  AgentRecords r = parse_records(test::read_data("records/v2_thp_shrinker_reclaimed.jsonl"));
  EXPECT_EQ(r.snapshots.size(), 1u);
  return r.snapshots.at(0);
}

// Replaces `from` by `to` in the snapshot's file `path` (which must hold it).
void edit(Snapshot& s, const std::string& path, const std::string& from, const std::string& to) {
  std::string& text = s.files.at(path);
  const std::size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << path << " lacks " << from;
  text.replace(at, from.size(), to);
}

const std::string kParent = "/sys/fs/cgroup/kharness";
const InvariantLimits kTwoCpus{2, 4096};  // tolerance 2 MiB

TEST(InvariantsTest, ARealV2SnapshotHoldsEveryCheck) {
  InvariantReport r = check_snapshot_invariants(thp_reclaimed(), kTwoCpus);
  EXPECT_TRUE(r.violations.empty()) << r.violations.front().detail;
  EXPECT_EQ(r.snapshots, 1);
  // Counters of 9 files, then per memcg lru + usage + 27 numa keys, then
  // memory.current and the hierarchical keys the parent and A and B share.
  EXPECT_GT(r.comparisons, 300);
}

TEST(InvariantsTest, AnInjectedUnderflowIsCaughtNamingSnapshotFileAndKey) {
  Snapshot s = thp_reclaimed();
  // B's inactive_anon went 4096 bytes below zero and was printed unsigned.
  edit(s, kParent + "/B/memory.stat", "inactive_anon 65536", "inactive_anon 18446744073709547520");
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_GE(r.violations.size(), 1u);
  const InvariantViolation& v = r.violations.front();
  EXPECT_EQ(v.check, InvariantCheck::underflow);
  EXPECT_EQ(v.snapshot, "reclaimed");
  EXPECT_EQ(v.file, kParent + "/B/memory.stat");
  EXPECT_EQ(v.key, "inactive_anon");
  EXPECT_EQ(v.detail, "18446744073709547520 is below zero as a signed 64-bit counter");
  // The wrapped value takes no part in sums: nothing else is blamed on it.
  EXPECT_EQ(r.violations.size(), 1u) << r.violations.back().detail;

  // Printed signed, a negative count is the same finding.
  Snapshot neg = thp_reclaimed();
  edit(neg, "/proc/vmstat", "nr_dirty 0", "nr_dirty -3");
  r = check_snapshot_invariants(neg, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].file, "/proc/vmstat");
  EXPECT_EQ(r.violations[0].key, "nr_dirty");
}

TEST(InvariantsTest, NumaStatThatNoLongerAddsUpToMemoryStatIsCaught) {
  Snapshot s = thp_reclaimed();
  // The parent's per-node anon says 4 MiB more than memory.stat's anon.
  edit(s, kParent + "/memory.numa_stat", "anon N0=65536 N1=65536", "anon N0=65536 N1=4259840");
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 1u);
  const InvariantViolation& v = r.violations[0];
  EXPECT_EQ(v.check, InvariantCheck::numa);
  EXPECT_EQ(v.file, kParent + "/memory.numa_stat");
  EXPECT_EQ(v.key, "anon");
  EXPECT_EQ(v.detail,
            "sum over nodes 4325376 != memory.stat anon 131072 (off by 4194304, tolerance "
            "2097152 = 2 CPUs x 256 pages of 4096 B)");
  // Within the tolerance it holds: 1 MiB off on two CPUs.
  Snapshot near = thp_reclaimed();
  edit(near, kParent + "/memory.numa_stat", "anon N0=65536 N1=65536", "anon N0=65536 N1=1114112");
  EXPECT_TRUE(check_snapshot_invariants(near, kTwoCpus).violations.empty());
  // On one CPU the tolerance is 1 MiB and 4 MiB is out too; a snapshot's
  // own nr_cpus wins over the limits' fallback.
  s.values["nr_cpus"] = 1;
  r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].detail.find("tolerance 1048576 = 1 CPUs"), std::string::npos);
}

TEST(InvariantsTest, LruPagesWithoutChargesAndChargesWithoutPagesAreCaught) {
  Snapshot s = thp_reclaimed();
  // A's 32 MiB of THPs on the LRU, but memory.current says 16 MiB.
  edit(s, kParent + "/A/memory.current", "33628160", "16777216");
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations[0].check, InvariantCheck::lru);
  EXPECT_EQ(r.violations[0].file, kParent + "/A/memory.stat");
  EXPECT_EQ(r.violations[0].key, "inactive_anon+active_anon+inactive_file+active_file+unevictable");

  Snapshot charged = thp_reclaimed();
  // B charged 64 MiB that are on no LRU list and are not kernel memory;
  // the parent (which holds B's charge) is then off too.
  edit(charged, kParent + "/B/memory.current", "327680", "67436544");
  edit(charged, kParent + "/memory.current", "33955840", "101064704");
  r = check_snapshot_invariants(charged, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 2u);
  EXPECT_EQ(r.violations[0].check, InvariantCheck::usage);
  EXPECT_EQ(r.violations[0].file, kParent + "/memory.current");
  EXPECT_EQ(r.violations[1].file, kParent + "/B/memory.current");
  EXPECT_EQ(r.violations[1].key, "");
}

TEST(InvariantsTest, AParentHoldingLessThanItsLiveChildrenIsCaught) {
  Snapshot s = thp_reclaimed();
  // A's inactive_anon grows past the parent's (and A's charge with it, so
  // only the hierarchy breaks).
  edit(s, kParent + "/A/memory.stat", "inactive_anon 33554432", "inactive_anon 41943040");
  edit(s, kParent + "/A/memory.numa_stat", "inactive_anon N0=16777216 N1=16777216",
       "inactive_anon N0=20971520 N1=20971520");
  edit(s, kParent + "/A/memory.current", "33628160", "42016768");
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 2u);
  EXPECT_EQ(r.violations[0].check, InvariantCheck::hierarchy);
  EXPECT_EQ(r.violations[0].file, kParent + "/memory.current");
  EXPECT_EQ(r.violations[1].file, kParent + "/memory.stat");
  EXPECT_EQ(r.violations[1].key, "inactive_anon");
  EXPECT_EQ(r.violations[1].detail,
            "33619968 < the sum 42008576 over its 2 live children (tolerance 2097152 = 2 CPUs x "
            "256 pages of 4096 B)");
}

TEST(InvariantsTest, WhatAKernelLacksIsNotChecked) {
  Snapshot s = thp_reclaimed();
  s.files.erase(kParent + "/memory.numa_stat");
  s.files.erase(kParent + "/A/memory.numa_stat");
  s.files.erase(kParent + "/B/memory.numa_stat");
  // No "kernel" line (older kernels): the usage check has nothing to add up.
  edit(s, kParent + "/B/memory.stat", "kernel 69632\n", "");
  edit(s, kParent + "/B/memory.current", "327680", "67436544");
  edit(s, kParent + "/memory.current", "33955840", "101064704");
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 1u) << "only the parent's usage, which has its kernel line";
  EXPECT_EQ(r.violations[0].file, kParent + "/memory.current");
  // A snapshot without a parent checks only its counters for underflow.
  Snapshot bare;
  bare.name = "before";
  bare.files["/proc/vmstat"] = "nr_free_pages 100\n";
  r = check_snapshot_invariants(bare, kTwoCpus);
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.comparisons, 1);
  EXPECT_EQ(r.snapshots, 0);
}

TEST(InvariantsTest, V1NumaRowsArePagesAndCheckedAgainstTheirOwnTotals) {
  Snapshot s;
  s.name = "after";
  s.meta = {{"cgroup_version", "1"}, {"parent", "/sys/fs/cgroup/memory/kharness"}};
  s.values = {{"nr_cpus", 2}, {"page_size", 4096}};
  const std::string p = "/sys/fs/cgroup/memory/kharness";
  s.files[p + "/memory.stat"] =
      "cache 8192000\nrss 0\ninactive_anon 0\nactive_anon 0\ninactive_file 8192000\n"
      "active_file 0\nunevictable 0\nhierarchical_memory_limit 9223372036854771712\n"
      "total_cache 8192000\ntotal_rss 0\ntotal_inactive_anon 0\ntotal_active_anon 0\n"
      "total_inactive_file 8192000\ntotal_active_file 0\ntotal_unevictable 0\n";
  s.files[p + "/memory.usage_in_bytes"] = "8462336\n";
  s.files[p + "/memory.kmem.usage_in_bytes"] = "270336\n";
  s.files[p + "/memory.numa_stat"] =
      "total=2000 N0=2000\nfile=2000 N0=2000\nanon=0 N0=0\nunevictable=0 N0=0\n"
      "hierarchical_total=2000 N0=2000\nhierarchical_file=2000 N0=2000\n"
      "hierarchical_anon=0 N0=0\nhierarchical_unevictable=0 N0=0\n";
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  EXPECT_TRUE(r.violations.empty()) << r.violations.front().detail;
  // The limit (2^63 - 4096) is not an underflow; a wrapped usage is.
  edit(s, p + "/memory.numa_stat", "hierarchical_file=2000 N0=2000",
       "hierarchical_file=2000 N0=9000");
  r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].key, "hierarchical_file");
  EXPECT_EQ(r.violations[0].detail,
            "sum over nodes 9000 != hierarchical_file=2000 pages (off by 7000, tolerance "
            "2097152 = 2 CPUs x 256 pages of 4096 B)");
}

TEST(InvariantsTest, ARealV1SnapshotHoldsAndAWrappedUsageIsCaught) {
  AgentRecords rec = parse_records(test::read_data("records/v1_dying_cgroup_after.jsonl"));
  ASSERT_EQ(rec.snapshots.size(), 1u);
  Snapshot s = rec.snapshots[0];
  InvariantReport r = check_snapshot_invariants(s, kTwoCpus);
  EXPECT_TRUE(r.violations.empty()) << r.violations.front().detail;
  // usage <= LRU + kmem, the v1 numa rows (8 totals, 4 against the lists).
  EXPECT_GT(r.comparisons, 100);
  const std::string p = "/sys/fs/cgroup/memory/kharness";
  edit(s, p + "/memory.usage_in_bytes", "30371840", "18446744073709547520");
  r = check_snapshot_invariants(s, kTwoCpus);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].check, InvariantCheck::underflow);
  EXPECT_EQ(r.violations[0].file, p + "/memory.usage_in_bytes");
  EXPECT_EQ(r.violations[0].key, "");
}

TEST(InvariantsTest, AssertionsNameTheViolationAndSummarise) {
  Snapshot s = thp_reclaimed();
  edit(s, kParent + "/memory.numa_stat", "anon N0=65536 N1=65536", "anon N0=65536 N1=4259840");
  auto a = invariant_assertions(check_invariants({thp_reclaimed(), s}, kTwoCpus));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].expression,
            "invariant numa: snapshot 'reclaimed', /sys/fs/cgroup/kharness/memory.numa_stat, key "
            "anon");
  EXPECT_FALSE(a[0].passed);
  EXPECT_TRUE(a[0].error.empty()) << "compare keeps its stored verdict";
  EXPECT_EQ(a[1].expression, "statistics invariants hold");
  EXPECT_FALSE(a[1].passed);
  EXPECT_EQ(a[1].value, 1);
  auto clean = invariant_assertions(check_invariants({thp_reclaimed()}, kTwoCpus));
  ASSERT_EQ(clean.size(), 1u);
  EXPECT_TRUE(clean[0].passed);
  EXPECT_NE(clean[0].detail.find("over 1 snapshots; 0 broken"), std::string::npos);
}

}  // namespace
}  // namespace kh
