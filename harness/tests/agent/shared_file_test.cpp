// The shared-file workload's pure helpers (harness/agent/shared_file.h):
// the counters it reads around each job and the summary of the jobs.
#include "agent/shared_file.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace kh::shared_file {
namespace {

TEST(SharedFileTest, RowValueFindsTheWholeKeyOnly) {
  const std::string vmstat = test::read_data("records/proc_vmstat.txt");
  ASSERT_TRUE(row_value(vmstat, "pgmajfault").has_value());
  EXPECT_EQ(row_value("pgmajfault_x 9\npgmajfault 42\n", "pgmajfault"), 42);
  EXPECT_EQ(row_value("workingset_refault_file 7", "workingset_refault_file"), 7);
  EXPECT_EQ(row_value("workingset_refault_anon 3\n", "workingset_refault"), std::nullopt);
  EXPECT_EQ(row_value("pgmajfault x\n", "pgmajfault"), std::nullopt);
  EXPECT_EQ(row_value("", "pgmajfault"), std::nullopt);
}

TEST(SharedFileTest, SectorsReadIsTheThirdField) {
  // A virtio disk's /sys/block/vda/stat as 6.1 prints it (right-aligned).
  EXPECT_EQ(sectors_read("     214       81    10594      120        3        0       24 "
                         "       1        0      176      121        0        0        0 "
                         "       0        0        0\n"),
            10594);
  EXPECT_EQ(sectors_read("1 2 3"), 3);
  EXPECT_EQ(sectors_read("1 2"), std::nullopt);
  EXPECT_EQ(sectors_read("1 2 x3 4"), std::nullopt);
  EXPECT_EQ(sectors_read(""), std::nullopt);
}

TEST(SharedFileTest, SummaryLeavesOutTheFirstJob) {
  // A kernel that drops the pages at rmdir: every job reads the 4096 kB
  // set again; the third read only 100 kB (a job that raced the reclaim).
  const std::vector<Job> jobs = {{4100, 40, 0}, {4096, 39, 2}, {100, 1, 0}, {4200, 41, 5}};
  const Summary s = summarize(jobs, 4096);
  EXPECT_EQ(s.later_read_kb, 4096 + 100 + 4200);
  EXPECT_EQ(s.later_majfault, 39 + 1 + 41);
  EXPECT_EQ(s.later_refault, 7);
  EXPECT_EQ(s.later_jobs_reread, 2);

  const Summary one = summarize({{4100, 40, 0}}, 4096);
  EXPECT_EQ(one.later_read_kb, 0);
  EXPECT_EQ(one.later_jobs_reread, 0);
}

}  // namespace
}  // namespace kh::shared_file
