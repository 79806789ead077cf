#include "core/plan.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

Job two_by_two() {
  return parse_job(R"(name: t
kernels:
  - name: base
    source: {tarball: x}
    expect:
      leak: [dying_after_loop > 10]
  - name: patched
    source: {tarball: x}
arches: [x86_64, arm64]
workloads:
  - id: leak
    workload: dying-cgroup
  - id: kmem
    workload: dying-cgroup
    params: {pin: kmem}
repeats: 2
)",
                   "job.yaml", "/");
}

WorkloadSpec spec(const std::string& name) {
  return parse_workload(
      "name: " + name +
          "\nparams: {iterations: 100, pin: {default: pagecache, choices: [pagecache, kmem]}}\n"
          "assertions: [default_assertion]\n",
      "w.yaml", "/w");
}

TEST(PlanTest, ExpandsKernelsArchesWorkloadsRepeats) {
  Job j = two_by_two();
  auto plan = make_plan(j, {}, spec);
  ASSERT_EQ(plan.size(), 2u * 2u * 2u * 2u);
  EXPECT_EQ(plan[0].run_dir, "base/x86_64/leak/r1");
  EXPECT_EQ(plan[1].run_dir, "base/x86_64/leak/r2");
  EXPECT_EQ(plan[2].params.at("pin"), "kmem");
}

TEST(PlanTest, EveryRunGetsTheUnionOfTheJobsWorkloadFragmentsWhateverIsSelected) {
  Job j = parse_job(R"(name: t
kernels: [{name: k, source: {tarball: x}}]
arches: [x86_64]
workloads:
  - a
  - {id: a2, workload: a, cmdline: cgroup.memory=nokmem}
  - b
  - c
)",
                    "job.yaml", "/");
  auto load = [](const std::string& name) {
    WorkloadSpec w = spec(name);
    if (name == "a") w.config = {"/w/a/kernel.config", "/w/shared.config"};
    if (name == "b") w.config = {"/w/shared.config", "/w/b/kernel.config"};
    if (name == "b") w.arch_config["arm64"] = {"/w/b/arm64.config"};
    return w;
  };
  PlanFilters only_c;
  only_c.workloads = {"c"};
  auto plan = make_plan(j, only_c, load);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].workload_config,
            (std::vector<std::filesystem::path>{"/w/a/kernel.config", "/w/shared.config",
                                                "/w/b/kernel.config"}));
  EXPECT_EQ(make_plan(j, {}, load)[1].ref->cmdline, "cgroup.memory=nokmem");
}

TEST(PlanTest, FileParamsResolveBesideTheJobThenUnderTheRoot) {
  ScopedTempDir tmp;
  write_file(tmp.path() / "jobs/mine.sh", "echo mine\n");
  write_file(tmp.path() / "root/workloads/script/examples/posted.sh", "echo posted\n");
  Job j = parse_job(R"(name: t
kernels: [{name: k, source: {tarball: x}}]
arches: [x86_64]
workloads:
  - {id: mine, workload: script, params: {script: mine.sh}}
  - {id: posted, workload: script, params: {script: workloads/script/examples/posted.sh}}
  - {id: missing, workload: script, params: {script: nowhere.sh}}
)",
                    "job.yaml", tmp.path() / "jobs");
  auto load = [](const std::string&) {
    return parse_workload("name: script\nparams: {script: {default: '', file: true}}\n", "w.yaml",
                          "/w");
  };
  PlanFilters two;
  two.workloads = {"mine", "posted"};
  auto plan = make_plan(j, two, load);
  resolve_file_params(plan, tmp.path() / "jobs", tmp.path() / "root");
  EXPECT_EQ(plan[0].params.at("script"), (tmp.path() / "jobs/mine.sh").string());
  EXPECT_EQ(plan[1].params.at("script"),
            (tmp.path() / "root/workloads/script/examples/posted.sh").string());

  PlanFilters bad;
  bad.workloads = {"missing"};
  auto missing = make_plan(j, bad, load);
  try {
    resolve_file_params(missing, tmp.path() / "jobs", tmp.path() / "root");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("script.script: no such file 'nowhere.sh'"),
              std::string::npos)
        << e.what();
  }
}

TEST(PlanTest, KernelExpectationsReplaceWorkloadDefaults) {
  auto plan = make_plan(two_by_two(), {}, spec);
  EXPECT_EQ(plan[0].assertions, std::vector<std::string>{"dying_after_loop > 10"});  // base/leak
  EXPECT_EQ(plan[2].assertions, std::vector<std::string>{"default_assertion"});      // base/kmem
  EXPECT_EQ(plan.back().assertions, std::vector<std::string>{"default_assertion"});  // patched
}

TEST(PlanTest, FiltersAndSets) {
  PlanFilters f;
  f.arches = {"x86_64"};
  f.workloads = {"kmem"};
  f.kernels = {"patched"};
  f.sets = {"dying-cgroup.iterations=7"};
  auto plan = make_plan(two_by_two(), f, spec);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].run_dir, "patched/x86_64/kmem/r1");
  EXPECT_EQ(plan[0].params.at("iterations"), "7");
  EXPECT_EQ(plan[0].params.at("pin"), "kmem");
}

TEST(PlanTest, SetByIdOnlyTouchesThatEntry) {
  PlanFilters f;
  f.sets = {"kmem.iterations=9"};
  f.arches = {"x86_64"};
  auto plan = make_plan(two_by_two(), f, spec);
  EXPECT_EQ(plan[0].params.at("iterations"), "100");  // leak
  EXPECT_EQ(plan[2].params.at("iterations"), "9");    // kmem
}

TEST(PlanTest, AnIdWinsOverAWorkloadName) {
  Job j = parse_job(R"(name: t
kernels: [{name: k, source: {tarball: x}}]
workloads:
  - dying-cgroup
  - {id: dying-cgroup-kmem, workload: dying-cgroup, params: {pin: kmem}}
)",
                    "job.yaml", "/");
  PlanFilters f;
  f.workloads = {"dying-cgroup"};
  f.sets = {"dying-cgroup.iterations=7"};
  auto plan = make_plan(j, f, spec);
  ASSERT_EQ(plan.size(), 1u);  // the entry with that id, not every dying-cgroup entry
  EXPECT_EQ(plan[0].ref->id, "dying-cgroup");
  EXPECT_EQ(plan[0].params.at("iterations"), "7");
}

TEST(PlanTest, BadFiltersAreInputErrors) {
  Job j = two_by_two();
  EXPECT_THROW(make_plan(j, PlanFilters{{"sparc"}, {}, {}, {}}, spec), InputError);
  EXPECT_THROW(make_plan(j, PlanFilters{{}, {"nope"}, {}, {}}, spec), InputError);
  EXPECT_THROW(make_plan(j, PlanFilters{{}, {}, {"nope"}, {}}, spec), InputError);
  EXPECT_THROW(make_plan(j, PlanFilters{{}, {}, {}, {"iterations=5"}}, spec), InputError);
  EXPECT_THROW(make_plan(j, PlanFilters{{}, {}, {}, {"leak.bogus=5"}}, spec), InputError);
  EXPECT_THROW(make_plan(j, PlanFilters{{}, {}, {}, {"other.iterations=5"}}, spec), InputError);
}

}  // namespace
}  // namespace kh
