#include "report/result_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "report/sample_runs.h"
#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

using ::testing::HasSubstr;

void expect_same(const RunResult& a, const RunResult& b) {
  EXPECT_EQ(a.kernel.name, b.kernel.name);
  EXPECT_EQ(a.kernel.release, b.kernel.release);
  EXPECT_EQ(a.kernel.artifact_key, b.kernel.artifact_key);
  EXPECT_EQ(a.kernel.series, b.kernel.series);
  EXPECT_EQ(a.kernel.source, b.kernel.source);
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.workload, b.workload);
  EXPECT_EQ(a.workload_name, b.workload_name);
  EXPECT_EQ(a.repeat, b.repeat);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.accel, b.accel);
  EXPECT_EQ(a.accel_note, b.accel_note);
  EXPECT_EQ(a.timings, b.timings);
  EXPECT_EQ(a.metrics, b.metrics);
  ASSERT_EQ(a.assertions.size(), b.assertions.size());
  for (std::size_t i = 0; i < a.assertions.size(); ++i) {
    EXPECT_EQ(a.assertions[i].expression, b.assertions[i].expression);
    EXPECT_EQ(a.assertions[i].value, b.assertions[i].value);
    EXPECT_EQ(a.assertions[i].passed, b.assertions[i].passed);
    EXPECT_EQ(a.assertions[i].error, b.assertions[i].error);
  }
  ASSERT_EQ(a.console.size(), b.console.size());
  for (std::size_t i = 0; i < a.console.size(); ++i) {
    EXPECT_EQ(a.console[i].kind, b.console[i].kind);
    EXPECT_EQ(a.console[i].title, b.console[i].title);
    EXPECT_EQ(a.console[i].line, b.console[i].line);
    EXPECT_EQ(a.console[i].corrupted, b.console[i].corrupted);
    EXPECT_EQ(a.console[i].tolerated, b.console[i].tolerated);
    EXPECT_EQ(a.console[i].excerpt, b.console[i].excerpt);
  }
  EXPECT_EQ(a.run_dir, b.run_dir);
}

TEST(ResultJsonTest, RoundTripsEveryField) {
  for (const RunResult& r : test::sample_runs()) {
    SCOPED_TRACE(std::string(to_string(r.outcome)));
    expect_same(result_from_json(to_json(r)), r);
  }
}

TEST(ResultJsonTest, Shape) {
  nlohmann::json j = to_json(test::sample_run(Outcome::fail, 1));
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["outcome"], "fail");
  EXPECT_EQ(j["kernel"]["release"], "6.1.192");
  EXPECT_EQ(j["metrics"]["settled.nr_dying_descendants"], 211);
  EXPECT_EQ(j["assertions"][1]["error"], "unknown name 'settled.nr_dying'");
  EXPECT_EQ(j["console"][0]["title"], "WARNING in iterate_mm_list");
  EXPECT_EQ(j["timings"]["total"], 16.75);
  EXPECT_EQ(j["params"]["pin"], "pagecache");
}

TEST(ResultJsonTest, NonFiniteMetricIsLeftOut) {
  RunResult r = test::sample_run(Outcome::pass);
  r.metrics["ratio"] = std::nan("");
  nlohmann::json j = to_json(r);
  EXPECT_FALSE(j["metrics"].contains("ratio"));
  EXPECT_EQ(result_from_json(j).metrics.count("ratio"), 0u);
}

TEST(ResultJsonTest, WriteAndReadFile) {
  ScopedTempDir tmp;
  RunResult r = test::sample_run(Outcome::fail, 1);
  write_result_json(tmp.path() / "run/result.json", r);
  expect_same(read_result_json(tmp.path() / "run/result.json"), r);
}

TEST(ResultJsonTest, MalformedFileIsAnInputErrorNamingIt) {
  ScopedTempDir tmp;
  auto path = tmp.path() / "result.json";
  write_file(path, "{\"schema\": 1, \"outcome\": \"pass\",");  // cut off
  try {
    (void)read_result_json(path);
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
  }
  EXPECT_THROW((void)read_result_json(tmp.path() / "missing.json"), InputError);
}

TEST(ResultJsonTest, WrongShapeIsAnInputError) {
  nlohmann::json good = to_json(test::sample_run(Outcome::pass));
  auto expect_error = [](const nlohmann::json& j, const std::string& needle) {
    try {
      (void)result_from_json(j, "out/result.json");
      ADD_FAILURE() << "no exception for " << j.dump();
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr("out/result.json: "));
      EXPECT_THAT(e.what(), HasSubstr(needle));
    }
  };
  nlohmann::json j = good;
  j["outcome"] = "flaky";
  expect_error(j, "flaky");
  j = good;
  j["schema"] = 2;
  expect_error(j, "schema 2");
  j = good;
  j["metrics"]["loop_seconds"] = "fast";
  expect_error(j, "metrics.loop_seconds");
  j = good;
  j["repeat"] = "one";
  expect_error(j, "repeat");
  j = good;
  j["kernel"]["release"] = 6;
  expect_error(j, "kernel.release");
  expect_error(nlohmann::json::array(), "JSON object");
}

}  // namespace
}  // namespace kh
