// The jbd2 workload's pure helpers (harness/agent/sampling.h): task state
// from /proc/<pid>/stat, PSI files, /dev/kmsg records, latency percentiles.
// The /proc and PSI texts are real ones, taken from a Linux host.
#include "agent/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace kh::sampling {
namespace {

TEST(SamplingTaskStat, PlainKernelThread) {
  auto t = parse_task_stat(
      "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 25 0 0 18446744073709551615 0 0 "
      "0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pid, 2);
  EXPECT_EQ(t->comm, "kthreadd");
  EXPECT_EQ(t->state, 'S');
}

TEST(SamplingTaskStat, CommWithSpacesAndParenthesesEndsAtTheLastParenthesis) {
  // A task that named itself "evil) D (x" (prctl PR_SET_NAME): a parser that
  // stops at the first ')' would read state 'D' and count it as stuck.
  auto t = parse_task_stat(
      "3763 (evil) D (x) R 3761 3761 30551 0 -1 4194304 2901 6561 1 0 5 1 5 0 20 0 1 0 1344720 "
      "17149952 3433 18446744073709551615 94124636258304 94124636258645 140729607352592 0 0 0 0 "
      "16781312 2 0 0 0 17 0 0 0 0 0 0 94124636270000 94124636270616 94125241188352 "
      "140729607358516 140729607358674 140729607358674 140729607360463 0\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pid, 3763);
  EXPECT_EQ(t->comm, "evil) D (x");
  EXPECT_EQ(t->state, 'R');
}

TEST(SamplingTaskStat, DStateWorkerWithSlashesAndDashes) {
  auto t = parse_task_stat("57 (kworker/u4:2-flush-254:0) D 2 0 0 0 -1 69238880 0 0 0 0 0 3\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->comm, "kworker/u4:2-flush-254:0");
  EXPECT_EQ(t->state, 'D');
}

TEST(SamplingTaskStat, EmptyCommAndSpaceInside) {
  auto t = parse_task_stat("10 () D 1 2 3");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->comm, "");
  EXPECT_EQ(t->state, 'D');
  t = parse_task_stat("11 (jbd2 writer) S 1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->comm, "jbd2 writer");
}

TEST(SamplingTaskStat, RejectsWhatIsNotAStatLine) {
  EXPECT_FALSE(parse_task_stat(""));
  EXPECT_FALSE(parse_task_stat("12 (cut"));      // no closing parenthesis
  EXPECT_FALSE(parse_task_stat("12 (x)"));       // no state
  EXPECT_FALSE(parse_task_stat("12 (x)S 1"));    // no space before the state
  EXPECT_FALSE(parse_task_stat("abc (x) S 1"));  // no pid
  EXPECT_FALSE(parse_task_stat("0 (x) S 1"));    // pid 0 is no task
  EXPECT_FALSE(parse_task_stat("12x (x) S 1"));  // junk after the pid
  EXPECT_FALSE(parse_task_stat(") 12 (x S"));    // parentheses the wrong way
}

TEST(SamplingPsi, ParsesSomeAndFull) {
  Psi p = parse_psi(
      "some avg10=0.00 avg60=0.01 avg300=0.35 total=238338843\n"
      "full avg10=12.50 avg60=0.00 avg300=0.30 total=180691425\n");
  ASSERT_TRUE(p.some.present);
  ASSERT_TRUE(p.full.present);
  EXPECT_DOUBLE_EQ(p.some.avg60, 0.01);
  EXPECT_DOUBLE_EQ(p.some.avg300, 0.35);
  EXPECT_EQ(p.some.total_us, 238338843u);
  EXPECT_DOUBLE_EQ(p.full.avg10, 12.5);
  EXPECT_EQ(p.full.total_us, 180691425u);
}

TEST(SamplingPsi, SomeOnlyLeavesFullAbsent) {
  // /proc/pressure/cpu before 5.13 had no "full" line.
  Psi p = parse_psi("some avg10=1.00 avg60=2.00 avg300=3.00 total=42\n");
  EXPECT_TRUE(p.some.present);
  EXPECT_FALSE(p.full.present);
  EXPECT_EQ(p.some.total_us, 42u);
}

TEST(SamplingPsi, MalformedLinesAreAbsent) {
  EXPECT_FALSE(parse_psi("").some.present);
  EXPECT_FALSE(parse_psi("some avg10=x avg60=0 avg300=0 total=1\n").some.present);
  EXPECT_FALSE(parse_psi("some avg10=1 avg60=0 avg300=0\n").some.present);  // no total
  EXPECT_FALSE(parse_psi("some avg10=1 avg60=0 avg300=0 total=-5\n").some.present);
}

TEST(SamplingKmsg, TextOfARecord) {
  EXPECT_EQ(kmsg_text("6,1,0,-;Command line: console=ttyS0 quiet\n"),
            "Command line: console=ttyS0 quiet");
  // Continuation lines carry the record's dictionary, not its text.
  EXPECT_EQ(kmsg_text("3,812,52000123,-;INFO: task a:57 blocked for more than 10 seconds.\n"
                      " SUBSYSTEM=block\n"),
            "INFO: task a:57 blocked for more than 10 seconds.");
  EXPECT_EQ(kmsg_text("4,2,0,-,caller=T1;x;y\n"), "x;y");
  EXPECT_FALSE(kmsg_text("no header here\n"));
  EXPECT_FALSE(kmsg_text("a;b,c\n"));  // ';' before the first ','
}

TEST(SamplingKmsg, HungTaskReport) {
  EXPECT_TRUE(is_hung_task_report("INFO: task jbd2/vda-8:101 blocked for more than 10 seconds."));
  EXPECT_TRUE(is_hung_task_report("INFO: task kworker/u4:2:57 blocked for more than 122 seconds."));
  EXPECT_FALSE(is_hung_task_report("task:jbd2/vda-8 state:D stack:0 pid:101 ppid:2"));
  EXPECT_FALSE(is_hung_task_report("INFO: rcu_sched detected stalls on CPUs/tasks:"));
}

TEST(SamplingPercentile, NearestRankOnKnownSets) {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);  // 1..100
  std::shuffle(v.begin(), v.end(), std::mt19937(7));
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 99), 99);  // not 100: 99 of the 100 are <= 99
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile(v, 99.5), 100);
  // Classic nearest-rank example: {15, 20, 35, 40, 50}.
  std::vector<double> w = {50, 15, 40, 20, 35};
  EXPECT_EQ(percentile(w, 5), 15);
  EXPECT_EQ(percentile(w, 30), 20);
  EXPECT_EQ(percentile(w, 40), 20);
  EXPECT_EQ(percentile(w, 50), 35);
  EXPECT_EQ(percentile(w, 100), 50);
}

TEST(SamplingPercentile, OneOutlierInAHundredIsNotP99ButIsTheMax) {
  std::vector<double> v(100, 5.0);
  v[37] = 9000;
  EXPECT_EQ(percentile(v, 99), 5);
  LatencySummary s = summarize(v);
  EXPECT_EQ(s.max, 9000);
  EXPECT_EQ(s.p99, 5);
  // Two in a hundred are.
  v[80] = 8000;
  EXPECT_EQ(percentile(v, 99), 8000);
}

TEST(SamplingPercentile, SmallAndEmptySets) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({3.5}, 0), 3.5);
  EXPECT_EQ(percentile({3.5}, 99), 3.5);
  EXPECT_EQ(percentile({1, 2}, 50), 1);
  EXPECT_EQ(percentile({1, 2}, 51), 2);
  EXPECT_EQ(percentile({1, 2}, 150), 2);  // clamped to 100
}

TEST(SamplingSummary, MeanMaxCountAndThreshold) {
  std::vector<double> v = {1, 2, 3, 4, 2500, 10};
  LatencySummary s = summarize(v);
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.mean, 2520.0 / 6);
  EXPECT_EQ(s.max, 2500);
  EXPECT_EQ(s.p50, 3);
  EXPECT_EQ(count_above(v, 2000), 1u);
  EXPECT_EQ(count_above(v, 3), 3u);  // strictly above
  EXPECT_EQ(summarize({}).count, 0u);
  EXPECT_EQ(summarize({}).p99, 0);
}

}  // namespace
}  // namespace kh::sampling
