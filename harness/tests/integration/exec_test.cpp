// kharness exec on the default job's Linux 6.1 x86_64 kernel (cached after
// the first build): the command's stdout and stderr apart, its exit status
// (zero, non-zero, killed, timed out) as kharness's, the --dir copy, and
// Ctrl-C leaving no QEMU behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

using namespace std::chrono_literals;

struct Exec {
  int code = -1;
  std::string out, err;
};

// A kharness process with its stdout and stderr in files of `dir`.
class ExecProcess {
 public:
  ExecProcess(const std::vector<std::string>& args, const std::filesystem::path& dir)
      : out_(dir / "kharness.stdout"), err_(dir / "kharness.stderr") {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int n = ::open("/dev/null", O_RDONLY);
      ::dup2(n, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> argv{const_cast<char*>(KHARNESS_BINARY), const_cast<char*>("exec")};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(KHARNESS_BINARY, argv.data());
      ::_exit(127);
    }
  }
  ~ExecProcess() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string out() const { return text(out_); }
  std::string err() const { return text(err_); }
  void signal(int sig) { ::kill(pid_, sig); }
  Exec wait(std::chrono::seconds timeout = 300s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > deadline) return {-1, out(), err()};
      std::this_thread::sleep_for(20ms);
    }
    done_ = true;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out(), err()};
  }

 private:
  static std::string text(const std::filesystem::path& p) {
    std::string s;
    read_file_if_exists(p, s);
    return s;
  }
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  bool done_ = false;
};

Exec exec(const std::vector<std::string>& args) {
  ScopedTempDir tmp("kharness-exec-it");
  return ExecProcess(args, tmp.path()).wait();
}

TEST(Exec, StdoutStderrStatusAndTheHostFolder) {
  ScopedTempDir tmp("kharness-exec-it");
  write_file(tmp.path() / "share/data/in.txt", "from the host 17\n");
  Exec r = exec({"--dir", (tmp.path() / "share").string(), "--out", (tmp.path() / "run").string(),
                 "--", "cat data/in.txt; echo to-stderr >&2; pwd; uname -r; exit 42"});
  EXPECT_EQ(r.code, 42) << r.err;
  EXPECT_NE(r.out.find("from the host 17\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/host\n"), std::string::npos) << "runs in the copy: " << r.out;
  EXPECT_NE(r.out.find("6.1."), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("to-stderr"), std::string::npos) << "stderr stays apart";
  EXPECT_NE(r.err.find("to-stderr\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Linux version"), std::string::npos) << "no kernel console on stdout";
  EXPECT_NE(read_file(tmp.path() / "run/console.log").find("Linux version 6.1."), std::string::npos)
      << "--out keeps the guest's files";
  EXPECT_TRUE(processes_under(tmp.path()).empty()) << "QEMU outlived kharness exec";
}

TEST(Exec, ZeroStatusAndAScriptWithItsShebangEvenWhenNotExecutableHere) {
  ScopedTempDir tmp("kharness-exec-it");
  write_file(tmp.path() / "t.sh", "#!/bin/bash\necho \"bash ${BASH_VERSINFO[0]}\"\n");
  Exec r = exec({"--script", (tmp.path() / "t.sh").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "bash 5\n");
}

TEST(Exec, SeveralWordsRunWithoutAShellAndAMissingCommandIs127) {
  Exec r = exec({"--", "echo", "a  b", "$HOME"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "a  b $HOME\n") << "no shell: no word splitting, no expansion";
  Exec missing = exec({"--", "no-such-program"});
  EXPECT_EQ(missing.code, 127) << missing.err;
  EXPECT_NE(missing.err.find("no-such-program"), std::string::npos) << missing.err;
}

TEST(Exec, KilledBySignalIs128PlusItAndATimeoutIs124) {
  Exec killed = exec({"--", "kill -9 $$"});
  EXPECT_EQ(killed.code, 137) << killed.err;
  Exec slow = exec({"--timeout", "2", "--", "echo before; sleep 600"});
  EXPECT_EQ(slow.code, 124) << slow.err;
  EXPECT_NE(slow.out.find("before"), std::string::npos);
  EXPECT_NE(slow.err.find("--timeout 2"), std::string::npos) << slow.err;
}

TEST(Exec, OutputComesAsItIsWrittenAndCtrlCLeavesNoQemu) {
  ScopedTempDir tmp("kharness-exec-it");
  ExecProcess p({"--out", (tmp.path() / "run").string(), "--", "echo started; sleep 600"},
                tmp.path());
  auto deadline = std::chrono::steady_clock::now() + 300s;
  while (p.out().find("started") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_NE(p.out().find("started"), std::string::npos)
      << "printed while the command still runs; stderr: " << p.err();
  p.signal(SIGINT);
  Exec r = p.wait(60s);
  EXPECT_EQ(r.code, 130) << r.err;
  EXPECT_TRUE(processes_under(tmp.path()).empty()) << "QEMU outlived kharness exec";
}

TEST(Exec, AnImageThatIsNoKernelIsInfraWithTheFolderNamed) {
  ScopedTempDir tmp("kharness-exec-it");
  write_file(tmp.path() / "bzImage", "not a kernel");
  Exec r = exec({"--image", (tmp.path() / "bzImage").string(), "--accel", "tcg", "--out",
                 (tmp.path() / "run").string(), "--", "true"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("kharness: infrastructure error: QEMU failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the guest's files: " + (tmp.path() / "run").string()), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace kh::it
