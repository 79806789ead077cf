// Kernel health end to end: a real kernel splats on purpose (LKDTM) and the
// run fails with the report's title, on both arches; a title the kernel
// tolerates does not fail it.
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

TEST(HealthIntegration, LkdtmWarningFailsWithItsTitleUnlessTolerated) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness({"run", job("lkdtm-warning.yaml"), "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.output;

  for (std::string arch : {"x86_64", "arm64"}) {
    SCOPED_TRACE(arch);
    auto failed = read_json(out.path() / "linux-6.1" / arch / "lkdtm/result.json");
    EXPECT_EQ(failed["outcome"], "fail") << failed.dump(1).substr(0, 3000);
    EXPECT_EQ(failed["reason"], "WARNING in lkdtm_WARNING");
    ASSERT_GE(failed["console"].size(), 1u);
    const auto& report = failed["console"][0];
    EXPECT_EQ(report["kind"], "WARNING");
    EXPECT_EQ(report["title"], "WARNING in lkdtm_WARNING");
    EXPECT_FALSE(report["corrupted"].get<bool>());
    EXPECT_FALSE(report["tolerated"].get<bool>());
    // The excerpt is the cut-here block with its stack.
    std::string excerpt = report["excerpt"].get<std::string>();
    EXPECT_NE(excerpt.find("[ cut here ]"), std::string::npos) << excerpt;
    EXPECT_NE(excerpt.find(" direct_entry"), std::string::npos)
        << excerpt;  // LKDTM's write handler
    EXPECT_NE(excerpt.find("---[ end trace"), std::string::npos) << excerpt;
    // The agent saw the taint the WARNING left (W = 512).
    EXPECT_EQ(static_cast<long>(failed["metrics"]["tainted"].get<double>()) & 512, 512);

    auto known = read_json(out.path() / "linux-6.1-known" / arch / "lkdtm/result.json");
    EXPECT_EQ(known["outcome"], "pass") << known.dump(1).substr(0, 3000);
    ASSERT_GE(known["console"].size(), 1u);
    EXPECT_EQ(known["console"][0]["title"], "WARNING in lkdtm_WARNING");
    EXPECT_TRUE(known["console"][0]["tolerated"].get<bool>());
  }

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file((out.path() / "junit.xml").c_str()));
  int failures = 0;
  for (auto tc : doc.child("testsuites").child("testsuite").children("testcase")) {
    if (auto f = tc.child("failure")) {
      ++failures;
      EXPECT_STREQ(f.attribute("message").value(), "WARNING in lkdtm_WARNING");
      EXPECT_NE(std::string(f.text().get()).find("WARNING: CPU: "), std::string::npos);
    }
  }
  EXPECT_EQ(failures, 2);
  EXPECT_TRUE(processes_under(out.path()).empty());
}

}  // namespace
}  // namespace kh::it
