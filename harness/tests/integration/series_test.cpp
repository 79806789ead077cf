// A one-patch series (kernel-patches/boot-marker) applied to 6.1: the
// booted kernel must carry it.
#include <gtest/gtest.h>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

TEST(SeriesIntegration, BootedKernelCarriesTheSeries) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness({"run", job("boot-marker.yaml"), "--out", out.path().string()});
  auto dir = out.path() / "marked/x86_64/dying-cgroup";
  std::string console;
  ASSERT_TRUE(read_file_if_exists(dir / "console.log", console)) << r.output;
  EXPECT_NE(console.find("kharness-marker: boot-marker series applied"), std::string::npos)
      << console.substr(0, 3000);
  auto result = read_json(dir / "result.json");
  EXPECT_EQ(result["kernel"]["series"], "boot-marker");
  // The series changes the content key: not the unpatched kernel's artifact.
  auto plain = run_kharness({"build", "--key", job("dying-cgroup-x86_64.yaml")});
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(plain.output.find(result["kernel"]["artifact_key"].get<std::string>()),
            std::string::npos);
}

}  // namespace
}  // namespace kh::it
