#include "core/job.h"
#include "build_info.h"

#include <gtest/gtest.h>

#include "default_job.h"
#include "util/error.h"

namespace kh {
namespace {

const char* kMinimal = R"(name: t
kernels:
  - name: base
    source: {tarball: /usr/src/linux-source-6.1.tar.xz}
workloads: [dying-cgroup]
)";

std::string error_of(const std::string& text) {
  try {
    parse_job(text, "job.yaml", "/jobs");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(JobTest, HistoryStoreIsOptional) {
  EXPECT_EQ(parse_job(kMinimal, "job.yaml", "/jobs").history, "");
  Job j = parse_job(std::string(kMinimal) + "history: /srv/nightly/history.sqlite\n", "job.yaml",
                    "/jobs");
  EXPECT_EQ(j.history, "/srv/nightly/history.sqlite");
}

TEST(JobTest, MinimalJobGetsDefaults) {
  Job j = parse_job(kMinimal, "job.yaml", "/jobs");
  EXPECT_EQ(j.name, "t");
  ASSERT_EQ(j.kernels.size(), 1u);
  EXPECT_EQ(j.kernels[0].source.kind, SourceSpec::Kind::tarball);
  EXPECT_EQ(j.kernels[0].source.path, "/usr/src/linux-source-6.1.tar.xz");
  ASSERT_EQ(j.workloads.size(), 1u);
  EXPECT_EQ(j.workloads[0].id, "dying-cgroup");
  EXPECT_EQ(j.workloads[0].workload, "dying-cgroup");
  EXPECT_EQ(j.repeats, 1);
  EXPECT_EQ(j.output, "results");
  EXPECT_EQ(j.base_dir, "/jobs");
  EXPECT_EQ(j.text, kMinimal);
}

TEST(JobTest, FullJob) {
  Job j = parse_job(R"(name: series-check
kernels:
  - name: base
    source: {git: ../linux, ref: v6.1}
    fragments: [debug]
    cmdline: cgroup.memory=nokmem
    tolerate: ["WARNING in lru_gen_reparent_memcg"]
    expect:
      leak: [dying_after_loop >= 450]
  - name: patched
    source: {git: ../linux, ref: v6.1}
    series: dying-memcg-v4
arches: [x86_64, arm64]
workloads:
  - id: leak
    workload: dying-cgroup
    params: {iterations: 500, cgroup: v1}
repeats: 3
timeouts: {build: 100, boot: 20, workload: 30}
output: /tmp/out
)",
                    "job.yaml", "/jobs");
  EXPECT_EQ(j.kernels[0].source.kind, SourceSpec::Kind::git);
  EXPECT_EQ(j.kernels[0].source.ref, "v6.1");
  EXPECT_EQ(j.kernels[0].fragments, std::vector<std::string>{"debug"});
  EXPECT_EQ(j.kernels[0].cmdline, "cgroup.memory=nokmem");
  EXPECT_EQ(j.kernels[0].tolerate, std::vector<std::string>{"WARNING in lru_gen_reparent_memcg"});
  EXPECT_EQ(j.kernels[0].expect.at("leak"), std::vector<std::string>{"dying_after_loop >= 450"});
  EXPECT_EQ(j.kernels[1].series, "dying-memcg-v4");
  EXPECT_EQ(j.arches, (std::vector<std::string>{"x86_64", "arm64"}));
  EXPECT_EQ(j.workloads[0].params.at("iterations"), "500");
  EXPECT_EQ(j.repeats, 3);
  EXPECT_EQ(j.timeouts.boot.count(), 20);
  EXPECT_EQ(j.output, "/tmp/out");
}

TEST(JobTest, LruGenPerWorkloadEntry) {
  Job j = parse_job(std::string(R"(name: t
kernels:
  - name: base
    source: {tarball: x.tar.xz}
workloads:
  - dying-cgroup
  - {id: dying-mglru, workload: dying-cgroup, lru_gen: on}
  - {id: dying-classic, workload: dying-cgroup, lru_gen: off}
)"),
                    "job.yaml", "/jobs");
  EXPECT_EQ(j.workloads[0].lru_gen, "");
  EXPECT_EQ(j.workloads[1].lru_gen, "on");
  EXPECT_EQ(j.workloads[2].lru_gen, "off");
  std::string e = error_of(R"(name: t
kernels:
  - name: base
    source: {tarball: x.tar.xz}
workloads:
  - {workload: dying-cgroup, lru_gen: yes}
)");
  EXPECT_EQ(e.rfind("job.yaml:6:", 0), 0u) << e;
  EXPECT_NE(e.find("lru_gen: expected on or off, got 'yes'"), std::string::npos) << e;
}

TEST(JobTest, UnknownTopLevelKeyNamesLineColumnAndAllowedKeys) {
  std::string e = error_of(std::string(kMinimal) + "reapeats: 3\n");
  EXPECT_EQ(e.rfind("job.yaml:6:1: unknown key 'reapeats'", 0), 0u) << e;
  EXPECT_NE(e.find("repeats"), std::string::npos);
}

TEST(JobTest, UnknownKernelKeyIsAnError) {
  std::string e = error_of(R"(name: t
kernels:
  - name: base
    source: {tarball: x.tar.xz}
    serie: foo
workloads: [w]
)");
  EXPECT_EQ(e.rfind("job.yaml:5:5: unknown key 'serie'", 0), 0u) << e;
}

TEST(JobTest, MalformedYamlNamesThePosition) {
  std::string e = error_of("name: t\nkernels: [\n  - a: b\n");
  EXPECT_EQ(e.rfind("job.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("malformed YAML"), std::string::npos) << e;
}

TEST(JobTest, UnknownArchIsAnErrorListingKnownOnes) {
  std::string e = error_of(std::string(kMinimal) + "arches: [x86_64, riscv64]\n");
  EXPECT_EQ(e.rfind("job.yaml:6:18: unknown arch 'riscv64' (known: x86_64, arm64)", 0), 0u) << e;
}

TEST(JobTest, WrongTypesAndMissingPieces) {
  EXPECT_NE(error_of(std::string(kMinimal) + "repeats: many\n").find("repeats as a whole number"),
            std::string::npos);
  EXPECT_NE(error_of("name: t\nworkloads: [w]\n").find("needs kernels:"), std::string::npos);
  EXPECT_NE(error_of("name: t\nkernels:\n  - name: a\nworkloads: [w]\n").find("needs source:"),
            std::string::npos);
  EXPECT_NE(error_of("name: t\nkernels:\n  - name: a\n    source: {git: x}\nworkloads: [w]\n")
                .find("needs ref:"),
            std::string::npos);
  EXPECT_NE(
      error_of("name: t\nkernels:\n  - name: a\n    source: {tarball: x, git: y}\nworkloads: [w]\n")
          .find("not both"),
      std::string::npos);
  EXPECT_NE(error_of("- a\n- b\n").find("the job as a mapping"), std::string::npos);
}

TEST(JobTest, DuplicateNamesAndDanglingExpectations) {
  EXPECT_NE(error_of(R"(name: t
kernels:
  - {name: a, source: {tarball: x}}
  - {name: a, source: {tarball: y}}
workloads: [w]
)")
                .find("duplicate kernel name 'a'"),
            std::string::npos);
  EXPECT_NE(error_of("name: t\nkernels: [{name: a, source: {tarball: x}}]\nworkloads: [w, w]\n")
                .find("duplicate workload id 'w'"),
            std::string::npos);
  EXPECT_NE(
      error_of("name: t\nkernels: [{name: a, source: {tarball: x}, expect: {other: [x > 1]}}]\n"
               "workloads: [w]\n")
          .find("workload 'other', which the job does not run"),
      std::string::npos);
}

TEST(JobTest, NamesMustBeSafeForFolders) {
  EXPECT_NE(error_of("name: ../etc\nkernels: [{name: a, source: {tarball: x}}]\nworkloads: [w]\n")
                .find("job name '../etc'"),
            std::string::npos);
}

TEST(JobTest, NamesHaveALengthLimit) {
  std::string e = error_of("name: " + std::string(101, 'n') +
                           "\nkernels: [{name: a, source: {tarball: x}}]\nworkloads: [w]\n");
  EXPECT_EQ(e, "job.yaml:1:7: job name 'nnnnnnnnnnnnnnnnnnnn...' is longer than 100 characters");
  // A name of a million characters costs a loop, not a recursion per character.
  e = error_of("name: " + std::string(1000000, 'n') + "\n");
  EXPECT_NE(e.find("longer than 100 characters"), std::string::npos) << e.substr(0, 200);
}

TEST(JobTest, SourcesKeepWhereTheJobNamesThem) {
  Job j = parse_job(R"(name: t
kernels:
  - name: a
    source:
      git: ~/src/linux
      ref: next-20260128
  - name: b
    source: {git: 'https://git.kernel.org/pub/scm/linux/kernel/git/next/linux-next.git', ref: master}
  - name: c
    source: {tarball: /usr/src/linux-source-6.1.tar.xz}
workloads: [w]
)",
                    "job.yaml", "/jobs");
  EXPECT_EQ(j.kernels[0].source.path, "~/src/linux") << "resolved later (kernel/source.h)";
  EXPECT_EQ(j.kernels[0].source.path_where, "job.yaml:5:12");
  EXPECT_EQ(j.kernels[0].source.ref_where, "job.yaml:6:12");
  EXPECT_EQ(j.kernels[1].source.path.string(),
            "https://git.kernel.org/pub/scm/linux/kernel/git/next/linux-next.git");
  EXPECT_EQ(j.kernels[1].source.path_where, "job.yaml:8:19");
  EXPECT_EQ(j.kernels[2].source.path_where, "job.yaml:10:23");
  EXPECT_EQ(j.kernels[2].source.ref_where, "");
}

TEST(JobTest, RefsThatGitWouldReadAsOptionsAreRefused) {
  auto job = [](const std::string& ref) {
    return "name: t\nkernels:\n  - name: a\n    source: {git: x, ref: '" + ref +
           "'}\nworkloads: [w]\n";
  };
  EXPECT_EQ(error_of(job("--upload-pack=touch /tmp/x")),
            "job.yaml:4:27: ref '--upload-pack=touch /tmp/x' is not a branch, tag or commit");
  EXPECT_NE(error_of(job("")).find("is not a branch, tag or commit"), std::string::npos);
  EXPECT_NE(error_of(job("a b")).find("is not a branch, tag or commit"), std::string::npos);
  EXPECT_EQ(error_of(job("v6.1^{commit}")), "(no error)");
}

// The two things the issue found: a file nested 5000 levels deep crashed
// kharness inside yaml-cpp, and a key given twice was silently accepted.
TEST(JobTest, DeepNestingAndDuplicateKeysAreOneLineErrors) {
  std::string deep = std::string(kMinimal) + "timeouts: " + std::string(5000, '[') + "\n";
  EXPECT_EQ(error_of(deep),
            "job.yaml:6:74: nested deeper than 64 levels here; kharness reads YAML files nested "
            "up to that");
  EXPECT_EQ(error_of(std::string(kMinimal) + "repeats: 2\nrepeats: 3\n"),
            "job.yaml:7:1: key 'repeats' is given twice in this mapping (first at line 6)");
  EXPECT_EQ(error_of(R"(name: t
kernels:
  - name: base
    source: {tarball: x.tar.xz}
    name: other
workloads: [w]
)"),
            "job.yaml:5:5: key 'name' is given twice in this mapping (first at line 3)");
}

TEST(JobTest, TheBuiltInDefaultJobParses) {
  Job j = parse_job(kDefaultJobText, kDefaultJobName, "/x");
  EXPECT_EQ(j.name, "default");
  ASSERT_FALSE(j.kernels.empty());
  EXPECT_EQ(j.kernels[0].source.path, "/usr/src/linux-source-6.1.tar.xz");
  ASSERT_EQ(j.workloads.size(), 2u);
  EXPECT_EQ(j.workloads[1].params.at("pin"), "kmem");
}

TEST(JobTest, MissingJobFileIsAnInputError) {
  EXPECT_THROW(load_job_file("/nonexistent/job.yaml"), InputError);
}

}  // namespace
}  // namespace kh

namespace kh {
namespace {

// Every ready job we ship parses and names only workloads that exist.
TEST(ShippedJobsTest, EveryJobInConfigsJobsIsValid) {
  auto root = std::filesystem::path(KHARNESS_SOURCE_DIR);
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(root / "configs/jobs")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    Job j = load_job_file(e.path());
    for (const auto& w : j.workloads)
      EXPECT_TRUE(std::filesystem::exists(root / "workloads" / w.workload / "workload.yaml"))
          << w.workload;
    ++n;
  }
  EXPECT_GE(n, 3);
}

}  // namespace
}  // namespace kh

namespace kh {
namespace {

TEST(JobHostsTest, BackendUriAndHostPool) {
  Job j = parse_job(std::string(kMinimal) + "backend: libvirt\nuri: qemu+ssh://big/system\n",
                    "job.yaml", "/jobs");
  EXPECT_EQ(j.backend, "libvirt");
  EXPECT_EQ(j.uri, "qemu+ssh://big/system");
  EXPECT_TRUE(j.hosts.empty());
  EXPECT_EQ(parse_job(kMinimal, "job.yaml", "/jobs").backend, "");

  j = parse_job(std::string(kMinimal) +
                    "hosts:\n"
                    "  - qemu:///system\n"
                    "  - {uri: 'qemu+tcp://10.0.0.2/system', slots: 3, arches: [arm64], "
                    "pool_dir: /srv/pools}\n",
                "job.yaml", "/jobs");
  EXPECT_EQ(j.backend, "libvirt") << "hosts: implies the libvirt backend";
  ASSERT_EQ(j.hosts.size(), 2u);
  EXPECT_EQ(j.hosts[0].uri, "qemu:///system");
  EXPECT_EQ(j.hosts[0].slots, 1);
  EXPECT_TRUE(j.hosts[0].arches.empty());
  EXPECT_EQ(j.hosts[1].slots, 3);
  EXPECT_EQ(j.hosts[1].arches, std::vector<std::string>{"arm64"});
  EXPECT_EQ(j.hosts[1].pool_dir, "/srv/pools");
}

TEST(JobHostsTest, BadHostsAreInputErrorsWithTheLine) {
  std::string base = kMinimal;
  EXPECT_NE(error_of(base + "backend: xen\n").find("job.yaml:6:"), std::string::npos);
  EXPECT_NE(error_of(base + "backend: xen\n").find("expected qemu or libvirt"), std::string::npos);
  EXPECT_NE(error_of(base + "hosts: []\n").find("non-empty list"), std::string::npos);
  EXPECT_NE(error_of(base + "hosts:\n  - {uri: a, slots: 0}\n").find("slots"), std::string::npos);
  EXPECT_NE(error_of(base + "hosts:\n  - {uri: a, arches: [mips]}\n").find("unknown arch 'mips'"),
            std::string::npos);
  EXPECT_NE(error_of(base + "hosts:\n  - {slots: 2}\n").find("a host needs uri:"),
            std::string::npos);
  EXPECT_NE(error_of(base + "hosts:\n  - {uri: a, cpus: 2}\n").find("unknown key 'cpus'"),
            std::string::npos);
  EXPECT_NE(error_of(base + "hosts: [a, a]\n").find("listed twice"), std::string::npos);
  EXPECT_NE(error_of(base + "backend: qemu\nhosts: [a]\n").find("backend: qemu cannot"),
            std::string::npos);
  EXPECT_NE(error_of(base + "uri: a\nhosts: [a]\n").find("either uri: or hosts:"),
            std::string::npos);
}

}  // namespace
}  // namespace kh
