// Bad input gets one clear line naming the file and line or the step,
// keeps what was already written, and leaves no QEMU (or make) behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "core/paths.h"
#include "kharness_cli.h"
#include "util/files.h"
#include "util/process.h"

namespace kh::it {
namespace {

std::string error_line(const CliResult& r) {
  return line_with(r.output, "kharness: ");
}

TEST(BadInput, UnknownKeyNamesFileLineAndColumn) {
  auto r = run_kharness({"run", job("unknown-key.yaml")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(error_line(r).find("unknown-key.yaml:6:1: unknown key 'repeat'"), std::string::npos)
      << r.output;
}

TEST(BadInput, MalformedYaml) {
  ScopedTempDir tmp;
  write_file(tmp.path() / "bad.yaml", "name: x\nkernels: [\n  {name: a\n");
  auto r = run_kharness({"run", (tmp.path() / "bad.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(error_line(r).find("bad.yaml:"), std::string::npos) << r.output;
  EXPECT_NE(error_line(r).find("malformed YAML"), std::string::npos) << r.output;
}

// A job nested 5000 levels deep used to end kharness with SIGSEGV inside
// yaml-cpp; a key given twice was taken silently. (1000 levels of block
// nesting: 5000 would pass the 1 MiB limit first, with its indentation.)
TEST(BadInput, DeepOrDuplicatedJobFileIsOneLineNotACrash) {
  ScopedTempDir tmp;
  std::string deep = "name: x\n";
  for (int i = 0; i < 1000; ++i) deep += std::string(i, ' ') + "k:\n";
  write_file(tmp.path() / "deep.yaml", deep);
  write_file(tmp.path() / "flow.yaml", "name: x\nkernels: " + std::string(5000, '[') + "\n");
  write_file(tmp.path() / "twice.yaml",
             "name: x\nkernels: [{name: a, source: {tarball: x}}]\nworkloads: [dying-cgroup]\n"
             "name: y\n");
  for (const char* name : {"deep.yaml", "flow.yaml"}) {
    auto r = run_kharness({"build", "--key", (tmp.path() / name).string()});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(error_line(r).find(std::string(name) + ":"), std::string::npos) << r.output;
    EXPECT_NE(error_line(r).find("nested deeper than 64 levels"), std::string::npos) << r.output;
  }
  auto r = run_kharness({"build", "--key", (tmp.path() / "twice.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(error_line(r).find("twice.yaml:4:1: key 'name' is given twice in this mapping (first "
                               "at line 1)"),
            std::string::npos)
      << r.output;
}

TEST(BadInput, UnknownArchAndWorkloadOnTheCommandLine) {
  auto r = run_kharness({"run", "--arch", "riscv64"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(error_line(r).find("unknown arch"), std::string::npos) << r.output;
  r = run_kharness({"run", "--set", "dying-cgroup.iteratons=5"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(error_line(r).find("no parameter 'iteratons'"), std::string::npos) << r.output;
}

TEST(BadInput, MissingSourceNamesIt) {
  ScopedTempDir out;
  auto r = run_kharness({"run", job("missing-source.yaml"), "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(error_line(r).find("/nonexistent/linux-9.9.tar.xz"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(out.path() / "summary.json"))
      << "the summary is written even so";
}

TEST(BadInput, SeriesThatDoesNotApplyNamesThePatchAndHunk) {
  auto r = run_kharness({"build", job("bad-series.yaml")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::string line = error_line(r);
  EXPECT_NE(line.find(".patch"), std::string::npos) << r.output;
  EXPECT_NE(line.find("does not apply"), std::string::npos) << r.output;
  EXPECT_NE(line.find("@@"), std::string::npos) << "the rejected hunk: " << r.output;
}

TEST(BadInput, FragmentSymbolLostInTheMergeIsListed) {
  auto r = run_kharness({"build", job("lost-symbol.yaml")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::string line = error_line(r);
  EXPECT_NE(line.find("CONFIG_USB_STORAGE"), std::string::npos) << r.output;
  EXPECT_NE(line.find("lost-symbol.config"), std::string::npos) << r.output;
}

TEST(BadInput, NoCrossCompilerIsOneLineAndTheRunIsInfra) {
  // A PATH with everything in /usr/bin and /usr/sbin but the arm64 cross tools.
  ScopedTempDir bin("kharness-path");
  for (const char* dir : {"/usr/bin", "/usr/sbin"})
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (name.rfind("aarch64-linux-gnu-", 0) == 0 || std::filesystem::exists(bin.path() / name))
        continue;
      std::filesystem::create_symlink(e.path(), bin.path() / name);
    }
  ScopedTempDir out("kharness-it");
  auto r = run_kharness(
      {"run", "--arch", "arm64", "--workload", "dying-cgroup", "--out", out.path().string()},
      {{"PATH", bin.path().string()}});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(line_with(r.output, "aarch64-linux-gnu-gcc").find("command not found"),
            std::string::npos)
      << r.output;
  auto res = read_json(out.path() / "linux-6.1/arm64/dying-cgroup/result.json");
  EXPECT_EQ(res["outcome"], "infra");
  EXPECT_NE(res["reason"].get<std::string>().find("aarch64-linux-gnu-gcc"), std::string::npos);
  EXPECT_EQ(read_json(out.path() / "summary.json")["runs"].size(), 1u);
  EXPECT_TRUE(processes_under(out.path()).empty());
}

TEST(BadInput, GuestThatPanicsIsAFailWithThePanicLine) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness({"run", job("panic.yaml"), "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto res = read_json(out.path() / "linux-6.1/x86_64/dying-cgroup/result.json");
  EXPECT_EQ(res["outcome"], "fail");
  EXPECT_NE(res["reason"].get<std::string>().find("panic"), std::string::npos) << res["reason"];
  EXPECT_TRUE(processes_under(out.path()).empty());
}

TEST(BadInput, GuestThatNeverReachesTheAgentIsInfra) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness({"run", job("never-ready.yaml"), "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  auto res = read_json(out.path() / "linux-6.1/x86_64/dying-cgroup/result.json");
  EXPECT_EQ(res["outcome"], "infra");
  EXPECT_NE(res["reason"].get<std::string>().find("boot timeout"), std::string::npos)
      << res["reason"];
  EXPECT_TRUE(processes_under(out.path()).empty()) << "QEMU left behind after a boot timeout";
}

TEST(BadInput, FullDiskIsOneLineAndNoQemu) {
  ScopedTempDir mnt("kharness-full");
  if (::mount("tmpfs", mnt.path().c_str(), "tmpfs", 0, "size=2m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here";
  auto r = run_kharness({"run", "--set", "dying-cgroup.iterations=10", "--workload", "dying-cgroup",
                         "--out", (mnt.path() / "out").string()});
  EXPECT_TRUE(processes_under(mnt.path()).empty());
  ::umount2(mnt.path().c_str(), MNT_DETACH);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(error_line(r).find("No space left on device"), std::string::npos) << r.output;
}

// Starts kharness in the background, waits for `ready` to say the step is
// under way, sends SIGINT and returns the exit code.
int interrupt_when(const std::vector<std::string>& args, const std::function<bool()>& ready,
                   const std::filesystem::path& log, std::chrono::seconds limit,
                   const std::vector<std::pair<std::string, std::string>>& env = {}) {
  RealProcessRunner runner;
  Command c;
  c.argv = {KHARNESS_BINARY};
  auto checked = without_stray_history(args);
  c.argv.insert(c.argv.end(), checked.begin(), checked.end());
  c.output = log;
  c.env = env;
  auto child = runner.spawn(c);
  auto start = std::chrono::steady_clock::now();
  while (!ready() && child->running() && std::chrono::steady_clock::now() - start < limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!child->running()) return -2;  // ended before the step began
  ::kill(child->pid(), SIGINT);
  for (int i = 0; i < 600 && child->running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return child->running() ? -1 : child->exit_code();
}

TEST(BadInput, CtrlCDuringABootKillsQemuAndKeepsResults) {
  ScopedTempDir out("kharness-it");
  auto dir = out.path() / "linux-6.1/x86_64/dying-cgroup";
  int code = interrupt_when(
      {"run", "--workload", "dying-cgroup", "--set", "dying-cgroup.iterations=2000", "--out",
       out.path().string()},
      [&] {  // the kernel is printing: mid-boot
        std::error_code ec;
        return std::filesystem::file_size(dir / "console.log", ec) > 0 && !ec;
      },
      out.path() / "kharness.log", std::chrono::seconds(900));
  EXPECT_EQ(code, 130) << read_file(out.path() / "kharness.log");
  EXPECT_TRUE(processes_under(out.path()).empty()) << "QEMU outlived Ctrl-C";
  auto res = read_json(dir / "result.json");
  EXPECT_EQ(res["outcome"], "infra");
  EXPECT_EQ(res["reason"], "interrupted");
  EXPECT_TRUE(std::filesystem::exists(out.path() / "summary.json"));
  EXPECT_TRUE(std::filesystem::exists(out.path() / "junit.xml"));
}

TEST(BadInput, CtrlCDuringABuildStopsMake) {
  ScopedTempDir out("kharness-it");
  // A cache of its own: compilers of other kharness builds in the shared
  // cache (a developer's, another checkout's tests) would look like ours.
  // It costs an extraction; the build is interrupted at its first compile.
  auto cache = out.path() / "cache";
  // Mid-compile: cc1 at work on a file of the tree. Not make (the config
  // merge runs make too), not gcc (the cache key asks gcc --version), not a
  // cc1 reading stdin (kbuild's compiler probes); the config below is new,
  // so ccache cannot answer without compiling.
  auto compiling = [&] {
    for (int pid : processes_under(cache)) {
      std::string comm, cmdline;
      if (!read_file_if_exists("/proc/" + std::to_string(pid) + "/comm", comm) ||
          comm.rfind("cc1", 0) != 0)
        continue;
      read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline", cmdline);
      if (cmdline.find("src/") != std::string::npos && cmdline.find(".c") != std::string::npos)
        return true;
    }
    return false;
  };
  // A config no earlier run has built (each interrupted attempt leaves
  // objects behind; a fixed config would end up complete and cached).
  write_file(out.path() / "unique.config", "CONFIG_LOCALVERSION=\"-it" +
                                               std::to_string(::getpid()) + "-" +
                                               std::to_string(::time(nullptr)) + "\"\n");
  write_file(out.path() / "job.yaml", R"(name: it-interrupt-build
kernels:
  - name: interrupted
    source: {tarball: /usr/src/linux-source-6.1.tar.xz}
    series: boot-marker
    fragments: [unique.config]
workloads: [dying-cgroup]
)");
  int code = interrupt_when({"build", (out.path() / "job.yaml").string()}, compiling,
                            out.path() / "kharness.log", std::chrono::seconds(900),
                            {{"KHARNESS_CACHE", cache.string()}});
  EXPECT_EQ(code, 130) << read_file(out.path() / "kharness.log");
  EXPECT_NE(read_file(out.path() / "kharness.log").find("interrupted"), std::string::npos);
  EXPECT_TRUE(processes_under(cache).empty()) << "make or the compiler outlived Ctrl-C";
}

}  // namespace
}  // namespace kh::it
