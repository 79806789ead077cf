#include "util/status.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace kh {
namespace {

// The runs of a job report from their own threads: with --quiet (and
// --jobs 2) two of them once freed the same string and kharness aborted.
TEST(QuietStatusTest, RunsReportFromManyThreadsAtOnce) {
  QuietStatus status;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&status, t] {
      const std::string subject = "linux-6.1/x86_64/run" + std::to_string(t);
      for (int i = 0; i < 20000; ++i) {
        status.step(subject, "booting a guest whose name is long enough to be on the heap");
        status.info(subject + " passed");
        status.warn(subject + " warned");
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(status.last_step.rfind("[linux-6.1/x86_64/run", 0), 0u) << status.last_step;
  EXPECT_NE(status.last_info.find(" passed"), std::string::npos);
  EXPECT_NE(status.last_warn.find(" warned"), std::string::npos);
}

}  // namespace
}  // namespace kh
