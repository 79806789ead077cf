#include "analysis/records.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace kh {
namespace {

TEST(RecordsTest, ParsesAV2DyingCgroupRun) {
  AgentRecords r = parse_records(test::read_data("records/v2_dying_cgroup.jsonl"));
  EXPECT_TRUE(r.ready);
  EXPECT_DOUBLE_EQ(r.ready_uptime, 0.66);
  EXPECT_EQ(r.release, "6.1.192");
  ASSERT_EQ(r.snapshots.size(), 3u);
  EXPECT_EQ(r.snapshots[0].name, "before");
  EXPECT_EQ(r.snapshots[1].name, "after");
  EXPECT_EQ(r.snapshots[1].meta.at("cgroup_version"), "2");
  EXPECT_EQ(r.snapshots[1].values.at("dying_memcgs"), 500);
  EXPECT_EQ(r.metrics.at("loop_seconds"), 2.31);
  EXPECT_EQ(r.metrics.at("iterations_done"), 500);
  ASSERT_EQ(r.logs.size(), 2u);
  EXPECT_EQ(r.logs[1], "iteration 500/500");
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.done_ok);
  EXPECT_TRUE(r.setup_errors.empty());
  EXPECT_TRUE(r.workload_errors.empty());
  EXPECT_EQ(r.bad_lines, 0);
}

TEST(RecordLineTest, OneLineIsARecordWithItsTypeOrNothing) {
  auto ready = parse_record("{\"type\":\"ready\",\"release\":\"6.1.192\",\"uptime\":0.66}");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->type, "ready");
  EXPECT_EQ(ready->text("release"), "6.1.192");
  EXPECT_EQ(ready->text("uptime"), "") << "not a string";
  EXPECT_EQ(ready->text("absent"), "");
  auto untyped = parse_record("{\"message\":\"x\"}");
  ASSERT_TRUE(untyped.has_value());
  EXPECT_EQ(untyped->type, "");
  EXPECT_FALSE(parse_record("{\"type\":\"rea").has_value()) << "a cut-off line";
  EXPECT_FALSE(parse_record("[1,2]").has_value());
  EXPECT_FALSE(parse_record("").has_value());
  // A log message that quotes a ready record is a log record.
  auto log = parse_record(R"({"type":"log","message":"{\"type\":\"ready\"}"})");
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->type, "log");
}

TEST(RecordsTest, CutOffLastLineIsCountedAndSkipped) {
  AgentRecords r = parse_records(test::read_data("records/v1_workload_error.jsonl"));
  EXPECT_EQ(r.bad_lines, 1);
  ASSERT_EQ(r.workload_errors.size(), 1u);
  EXPECT_EQ(r.workload_errors[0],
            "mkdir /sys/fs/cgroup/memory/kharness/w212: Cannot allocate memory");
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.done_ok);
  EXPECT_EQ(r.logs.size(), 1u);  // the cut-off log line is not one
}

TEST(RecordsTest, NeverThrowsOnGarbage) {
  AgentRecords r = parse_records(
      "not json\n"
      "[1,2,3]\n"
      "\n"
      "{\"type\":\"metric\",\"name\":\"x\",\"value\":\"not a number\"}\n"
      "{\"type\":\"snapshot\",\"name\":\"s\",\"files\":[1],\"values\":{\"a\":\"b\",\"n\":2}}\n"
      "{\"type\":\"from_a_newer_agent\"}\n"
      "{\"type\":\"error\",\"kind\":\"setup\",\"message\":\"mount /mnt/scratch: No such device\"}\n"
      "\xff\xfe{\n");
  EXPECT_EQ(r.bad_lines, 3);  // "not json", the array, the binary line
  EXPECT_TRUE(r.metrics.empty());
  ASSERT_EQ(r.snapshots.size(), 1u);
  EXPECT_TRUE(r.snapshots[0].files.empty());
  EXPECT_EQ(r.snapshots[0].values.size(), 1u);
  ASSERT_EQ(r.setup_errors.size(), 1u);
  EXPECT_FALSE(r.ready);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(parse_records("").bad_lines, 0);
}

TEST(RecordsTest, ErrorKindsGoToTheirLists) {
  AgentRecords r = parse_records(
      "{\"type\":\"error\",\"kind\":\"unsupported\",\"message\":\"the kernel has no cgroup v1 "
      "memory controller\"}\n"
      "{\"type\":\"error\",\"kind\":\"workload\",\"message\":\"rmdir w1: Device or resource "
      "busy\"}\n"
      "{\"type\":\"error\",\"kind\":\"limit\",\"message\":\"write 4096 bytes to "
      "/scratch/dying.dat: No space left on device\"}\n");
  ASSERT_EQ(r.limit_errors.size(), 1u);
  EXPECT_EQ(r.limit_errors[0], "write 4096 bytes to /scratch/dying.dat: No space left on device");
  ASSERT_EQ(r.unsupported.size(), 1u);
  EXPECT_EQ(r.unsupported[0], "the kernel has no cgroup v1 memory controller");
  EXPECT_EQ(r.workload_errors.size(), 1u);
  EXPECT_TRUE(r.setup_errors.empty());
}

TEST(RecordsTest, SnapshotMetricsV2) {
  AgentRecords r = parse_records(test::read_data("records/v2_dying_cgroup.jsonl"));
  ASSERT_EQ(r.snapshots.size(), 3u);
  Metrics m = snapshot_metrics(r.snapshots[1]);
  EXPECT_EQ(m.at("after.memory_num_cgroups"), 502);
  EXPECT_EQ(m.at("after.nr_descendants"), 1);
  EXPECT_EQ(m.at("after.nr_dying_descendants"), 500);
  EXPECT_EQ(m.at("after.parent_nr_dying_descendants"), 500);
  EXPECT_EQ(m.at("after.percpu_kb"), 1872);
  EXPECT_EQ(m.at("after.slab_kb"), 1984);
  EXPECT_EQ(m.at("after.sunreclaim_kb"), 1848);
  EXPECT_EQ(m.at("after.memfree_kb"), 232120);
  EXPECT_EQ(m.at("after.cached_kb"), 740);
  EXPECT_EQ(m.at("after.dirty_kb"), 0);
  EXPECT_EQ(m.at("after.vmstat.pgfault"), 120502);
  EXPECT_EQ(m.at("after.vmstat.nr_free_pages"), 60286);
  EXPECT_EQ(m.at("after.memstat.file"), 2048000);
  EXPECT_EQ(m.at("after.memstat.kernel"), 4096);
  EXPECT_EQ(m.at("after.parent_file"), 2048000);  // v2: memory.stat file
  EXPECT_EQ(m.at("after.memory_current"), 2310144);
  EXPECT_EQ(m.at("after.memory_events.oom_kill"), 0);
  EXPECT_EQ(m.count("after.memory_events.max"), 1u);
  EXPECT_EQ(m.at("after.tainted"), 0);
  EXPECT_EQ(m.at("after.live_memcgs"), 2);
  EXPECT_EQ(m.at("after.dying_memcgs"), 500);
  for (const auto& [name, value] : m) EXPECT_EQ(name.rfind("after.", 0), 0u) << name;

  // Every /proc/vmstat line becomes a metric.
  std::string vmstat = test::read_data("records/proc_vmstat.txt");
  std::size_t vmstat_lines = 0;
  for (char c : vmstat) vmstat_lines += c == '\n';
  std::size_t vmstat_metrics = 0;
  for (const auto& [name, value] : m) vmstat_metrics += name.rfind("after.vmstat.", 0) == 0;
  EXPECT_EQ(vmstat_metrics, vmstat_lines);
}

TEST(RecordsTest, SnapshotMetricsV1DerivesDyingFromProcCgroups) {
  AgentRecords r = parse_records(test::read_data("records/v1_workload_error.jsonl"));
  ASSERT_EQ(r.snapshots.size(), 1u);
  Metrics m = snapshot_metrics(r.snapshots[0]);
  EXPECT_EQ(m.at("after.memory_num_cgroups"), 214);
  EXPECT_EQ(m.at("after.nr_dying_descendants"), 211);  // 214 memcgs, 3 of them live
  EXPECT_EQ(m.count("after.nr_descendants"), 0u);
  EXPECT_EQ(m.count("after.parent_nr_dying_descendants"), 0u);
  EXPECT_EQ(m.at("after.memory_current"), 2179072);  // memory.usage_in_bytes
  EXPECT_EQ(m.at("after.memstat.cache"), 2048000);
  EXPECT_EQ(m.at("after.memstat.total_inactive_file"), 1228800);
  EXPECT_EQ(m.at("after.memstat.hierarchical_memory_limit"), 9223372036854771712.0);
  EXPECT_EQ(m.at("after.tainted"), 512);
  EXPECT_EQ(m.count("after.memory_events.oom"), 0u);
}

TEST(RecordsTest, SnapshotMetricsReadChildCgroupsAndNumaStat) {
  // thp-shrinker's "reclaimed" snapshot on 6.1 with two NUMA nodes: B was
  // reclaimed (its 16 queued THPs split), A still holds its 16.
  AgentRecords r = parse_records(test::read_data("records/v2_thp_shrinker_reclaimed.jsonl"));
  ASSERT_EQ(r.snapshots.size(), 1u);
  Metrics m = snapshot_metrics(r.snapshots[0]);
  EXPECT_EQ(m.at("reclaimed.A.memstat.inactive_anon"), 33554432);
  EXPECT_EQ(m.at("reclaimed.A.memstat.anon"), 65536);
  EXPECT_EQ(m.at("reclaimed.A.memstat.thp_fault_alloc"), 16);
  EXPECT_EQ(m.at("reclaimed.A.memory_current"), 33628160);
  EXPECT_EQ(m.at("reclaimed.B.memory_current"), 327680);
  EXPECT_EQ(m.at("reclaimed.A.numa_stat.inactive_anon.N0"), 16777216);
  EXPECT_EQ(m.at("reclaimed.A.numa_stat.inactive_anon.N1"), 16777216);
  EXPECT_EQ(m.at("reclaimed.A.numa_stat.pagetables.N0"), 69632);
  EXPECT_EQ(m.at("reclaimed.A.numa_stat.pagetables.N1"), 0);
  EXPECT_EQ(m.at("reclaimed.B.numa_stat.inactive_anon.N1"), 32768);
  EXPECT_EQ(m.at("reclaimed.B.numa_stat.anon_thp.N0"), 0);
  // The parent's own files keep their names.
  EXPECT_EQ(m.at("reclaimed.numa_stat.inactive_anon.N0"), 16809984);
  EXPECT_EQ(m.at("reclaimed.memstat.inactive_anon"), 33619968);
  EXPECT_EQ(m.at("reclaimed.memory_current"), 33955840);
  EXPECT_EQ(m.at("reclaimed.hpage_pmd_size"), 2097152);
  // Every memory.numa_stat line has one value per node.
  std::size_t a_numa = 0, a_numa_lines = 0;
  for (const auto& [name, value] : m) a_numa += name.rfind("reclaimed.A.numa_stat.", 0) == 0;
  for (char c : r.snapshots[0].files.at("/sys/fs/cgroup/kharness/A/memory.numa_stat"))
    a_numa_lines += c == '\n';
  EXPECT_EQ(a_numa, 2 * a_numa_lines);
}

TEST(RecordsTest, ChildFilesOnlyDirectlyUnderTheParent) {
  Snapshot s;
  s.name = "s";
  s.meta["parent"] = "/sys/fs/cgroup/kharness";
  s.files["/sys/fs/cgroup/kharness/A/memory.stat"] = "anon 4096\nanon_thp x\n";
  s.files["/sys/fs/cgroup/kharness/A/memory.numa_stat"] =
      "anon N0=4096 N1=8192\nbad N0= =5 N1x N2=7\nlonely\n";
  s.files["/sys/fs/cgroup/kharness/A/sub/memory.stat"] = "anon 1\n";
  s.files["/sys/fs/cgroup/kharness/A/memory.events"] = "oom 1\n";
  s.files["/sys/fs/cgroup/kharnessX/memory.stat"] = "anon 2\n";
  s.files["/sys/fs/cgroup/other/memory.stat"] = "anon 3\n";
  Metrics m = snapshot_metrics(s);
  EXPECT_EQ(m, (Metrics{{"s.A.memstat.anon", 4096},
                        {"s.A.numa_stat.anon.N0", 4096},
                        {"s.A.numa_stat.anon.N1", 8192},
                        {"s.A.numa_stat.bad.N2", 7}}));
}

TEST(RecordsTest, ParentFileIsTheHierarchicalPageCacheOnBothVersions) {
  Snapshot v2;
  v2.name = "kept";
  v2.meta["parent"] = "/sys/fs/cgroup/kharness";
  v2.files["/sys/fs/cgroup/kharness/memory.stat"] = "anon 0\nfile 8192000\nshmem 0\n";
  EXPECT_EQ(snapshot_metrics(v2).at("kept.parent_file"), 8192000);

  // v1: "cache" is the parent's own pages, "total_cache" its subtree's.
  Snapshot v1 = v2;
  v1.meta["cgroup_version"] = "1";
  v1.files["/sys/fs/cgroup/kharness/memory.stat"] =
      "cache 4096\nrss 0\ntotal_cache 8192000\ntotal_rss 0\n";
  EXPECT_EQ(snapshot_metrics(v1).at("kept.parent_file"), 8192000);

  // A memory.stat without the row (v1 read as v2) gives no parent_file,
  // so a metric over it is missing rather than 0.
  v2.files["/sys/fs/cgroup/kharness/memory.stat"] = "cache 4096\ntotal_cache 8192000\n";
  EXPECT_EQ(snapshot_metrics(v2).count("kept.parent_file"), 0u);
}

TEST(RecordsTest, SnapshotMetricsOfAnEmptySnapshotAreItsValues) {
  Snapshot s;
  s.name = "settled";
  s.values["live_memcgs"] = 4;
  Metrics m = snapshot_metrics(s);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.at("settled.live_memcgs"), 4);
}

TEST(RecordsTest, V1NumaStatRowsAreNamedByTheirKey) {
  // v1 rows start "hierarchical_file=1981": the metric is named by the key,
  // not by the key and its total.
  AgentRecords r = parse_records(test::read_data("records/v1_dying_cgroup_after.jsonl"));
  ASSERT_EQ(r.snapshots.size(), 1u);
  Metrics m = snapshot_metrics(r.snapshots[0]);
  EXPECT_EQ(m.at("after.numa_stat.hierarchical_file.N0"), 1981);
  EXPECT_EQ(m.at("after.numa_stat.total.N0"), 0);
  for (const auto& [name, value] : m) EXPECT_EQ(name.find('='), std::string::npos) << name;
}

}  // namespace
}  // namespace kh
