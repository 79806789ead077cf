#include "report/junit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "report/sample_runs.h"

namespace kh {
namespace {

using ::testing::HasSubstr;

TEST(JunitTest, CountsAndStructure) {
  std::string xml = junit_xml("nightly", test::sample_runs());
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_string(xml.c_str());
  ASSERT_TRUE(parsed) << parsed.description() << "\n" << xml;

  pugi::xml_node suites = doc.child("testsuites");
  ASSERT_TRUE(suites);
  EXPECT_EQ(suites.attribute("tests").as_int(), 4);
  pugi::xml_node suite = suites.child("testsuite");
  ASSERT_TRUE(suite);
  EXPECT_STREQ(suite.attribute("name").value(), "nightly");
  EXPECT_EQ(suite.attribute("tests").as_int(), 4);
  EXPECT_EQ(suite.attribute("failures").as_int(), 1);
  EXPECT_EQ(suite.attribute("errors").as_int(), 1);
  EXPECT_EQ(suite.attribute("skipped").as_int(), 1);
  EXPECT_DOUBLE_EQ(suite.attribute("time").as_double(), 4 * 16.75);

  std::vector<pugi::xml_node> cases;
  for (pugi::xml_node tc : suite.children("testcase")) cases.push_back(tc);
  ASSERT_EQ(cases.size(), 4u);
  EXPECT_STREQ(cases[0].attribute("classname").value(), "baseline.x86_64");
  EXPECT_STREQ(cases[0].attribute("name").value(), "dying-cgroup#0");
  EXPECT_STREQ(cases[1].attribute("name").value(), "dying-cgroup#1");
  EXPECT_DOUBLE_EQ(cases[0].attribute("time").as_double(), 16.75);

  // pass: no verdict child.
  EXPECT_FALSE(cases[0].child("failure"));
  EXPECT_FALSE(cases[0].child("error"));
  EXPECT_FALSE(cases[0].child("skipped"));

  pugi::xml_node failure = cases[1].child("failure");
  ASSERT_TRUE(failure);
  EXPECT_STREQ(failure.attribute("message").value(),
               "assertion failed: settled.nr_dying_descendants == 0");
  std::string body = failure.text().get();
  EXPECT_THAT(body, HasSubstr("settled.nr_dying_descendants == 0"));
  EXPECT_THAT(body, HasSubstr("unknown name 'settled.nr_dying'"));
  EXPECT_THAT(body, HasSubstr("WARNING in iterate_mm_list"));
  EXPECT_THAT(body, ::testing::Not(HasSubstr("after.tainted")));  // that one held

  pugi::xml_node error = cases[2].child("error");
  ASSERT_TRUE(error);
  EXPECT_STREQ(error.attribute("message").value(), "boot timed out after 120 s");
  EXPECT_FALSE(cases[2].child("failure"));

  pugi::xml_node skipped = cases[3].child("skipped");
  ASSERT_TRUE(skipped);
  EXPECT_STREQ(skipped.attribute("message").value(), "kernel build failed");
}

TEST(JunitTest, SingleRunHasNoRepeatSuffixAndEscapes) {
  RunResult r = test::sample_run(Outcome::fail);
  r.reason = "console: <WARNING> & \"more\"";
  std::string xml = junit_xml("job <1>", {r});
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  pugi::xml_node tc = doc.child("testsuites").child("testsuite").child("testcase");
  EXPECT_STREQ(tc.attribute("name").value(), "dying-cgroup");
  EXPECT_STREQ(tc.child("failure").attribute("message").value(), "console: <WARNING> & \"more\"");
  EXPECT_STREQ(doc.child("testsuites").child("testsuite").attribute("name").value(), "job <1>");
}

TEST(JunitTest, FailureListsEveryReportAndShowsTheFirstOnesExcerpt) {
  RunResult r = test::sample_run(Outcome::fail);
  r.reason = "WARNING in iterate_mm_list (+1 more)";
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(junit_xml("job", {r}).c_str()));
  pugi::xml_node failure =
      doc.child("testsuites").child("testsuite").child("testcase").child("failure");
  EXPECT_STREQ(failure.attribute("message").value(), "WARNING in iterate_mm_list (+1 more)");
  std::string body = failure.text().get();
  EXPECT_NE(body.find("console.log:152: WARNING: WARNING in iterate_mm_list\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("console.log:190: lockdep: lockdep: possible recursive locking detected "
                      "(report cut off) (tolerated)"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("WARNING: CPU: 1 PID: 57 at mm/vmscan.c:3493"), std::string::npos) << body;
  EXPECT_EQ(body.find("WARNING: possible recursive locking detected\n"), std::string::npos)
      << "only the first report's excerpt: " << body;
}

TEST(JunitTest, EmptyJobIsValid) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(junit_xml("empty", {}).c_str()));
  EXPECT_EQ(doc.child("testsuites").child("testsuite").attribute("tests").as_int(), 0);
}

}  // namespace
}  // namespace kh
