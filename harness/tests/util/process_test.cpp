#include "util/process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "util/error.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace kh {
namespace {

// Running, not a zombie: a killed grandchild is reparented to PID 1, which
// may be slow (or, in some containers, never there) to reap it.
bool alive(int pid) {
  std::string stat;
  if (!read_file_if_exists("/proc/" + std::to_string(pid) + "/stat", stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

TEST(ProcessTest, TerminalStdioIsInheritedNotRedirected) {
  ScopedTempDir tmp("process-test");
  RealProcessRunner r;
  Command c;
  c.stdio = Stdio::terminal;
  // A pipeline: its commands run in children, the shell keeps its own fds.
  c.argv = {"sh", "-c",
            "readlink /proc/$$/fd/0 /proc/$$/fd/1 | cat > " + (tmp.path() / "fds").string()};
  auto child = r.spawn(c);
  while (child->running()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(child->exit_code(), 0);
  std::error_code ec;
  std::string ours = std::filesystem::read_symlink("/proc/self/fd/0", ec).string() + "\n" +
                     std::filesystem::read_symlink("/proc/self/fd/1", ec).string() + "\n";
  EXPECT_EQ(read_file(tmp.path() / "fds"), ours) << "the child has our stdin and stdout";
}

TEST(ProcessTest, CapturesOutputAndExitCode) {
  RealProcessRunner r;
  Command c;
  c.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto res = r.run(c);
  EXPECT_EQ(res.exit_code, 3);
  EXPECT_FALSE(res.ok());
  EXPECT_NE(res.output.find("out"), std::string::npos);
  EXPECT_NE(res.output.find("err"), std::string::npos);
}

TEST(ProcessTest, WritesToLogFileWithCwdAndEnv) {
  ScopedTempDir tmp;
  RealProcessRunner r;
  Command c;
  c.argv = {"sh", "-c", "pwd; echo $KH_TEST_VAR"};
  c.cwd = tmp.path();
  c.env = {{"KH_TEST_VAR", "hello"}};
  c.output = tmp.path() / "log";
  ASSERT_TRUE(r.run(c).ok());
  std::string log = read_file(tmp.path() / "log");
  EXPECT_NE(log.find(tmp.path().string()), std::string::npos);
  EXPECT_NE(log.find("hello"), std::string::npos);
}

TEST(ProcessTest, TimeoutKillsTheWholeGroup) {
  ScopedTempDir tmp;
  RealProcessRunner r;
  Command c;
  // The grandchild records its pid; a timeout must kill it too.
  c.argv = {"sh", "-c", "sleep 30 & echo $! > " + (tmp.path() / "pid").string() + "; wait"};
  c.timeout = std::chrono::milliseconds(500);
  int ticks = 0;
  c.on_tick = [&] { ++ticks; };
  auto start = std::chrono::steady_clock::now();
  auto res = r.run(c);
  EXPECT_TRUE(res.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_GE(ticks, 1);
  int pid = std::stoi(read_file(tmp.path() / "pid"));
  for (int i = 0; i < 50 && alive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(alive(pid)) << "grandchild " << pid << " survived";
}

TEST(ProcessTest, InterruptKillsAndReports) {
  RealProcessRunner r;
  Command c;
  c.argv = {"sleep", "30"};
  c.on_tick = [] { set_interrupted_for_test(true); };
  auto res = r.run(c);
  set_interrupted_for_test(false);
  EXPECT_TRUE(res.interrupted);
  EXPECT_FALSE(res.ok());
}

TEST(ProcessTest, SpawnedChildDiesWithItsHandle) {
  RealProcessRunner r;
  Command c;
  c.argv = {"sleep", "30"};
  int pid = 0;
  {
    auto child = r.spawn(c);
    pid = child->pid();
    EXPECT_TRUE(child->running());
  }
  EXPECT_FALSE(alive(pid));
}

TEST(ProcessTest, MissingProgramIsAnInfraError) {
  RealProcessRunner r;
  Command c;
  c.argv = {"kharness-no-such-program"};
  EXPECT_THROW(r.run(c), InfraError);
}

TEST(ProcessTest, ShellQuoting) {
  EXPECT_EQ(shell_quote("plain/path-1.2"), "plain/path-1.2");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_join({"qemu", "-append", "console=ttyS0 panic=-1"}),
            "qemu -append 'console=ttyS0 panic=-1'");
}

}  // namespace
}  // namespace kh
