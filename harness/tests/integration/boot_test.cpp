// kharness boot, driven the way a developer at a terminal drives it: a
// shell prompt from the guest, commands that run there, and every way out
// (poweroff -f, exit, Ctrl-A X, SIGTERM) ends kharness with no QEMU left.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "kharness_cli.h"
#include "util/files.h"

namespace kh::it {
namespace {

using namespace std::chrono_literals;
constexpr const char* kPrompt = "guest:/root# ";

// `kharness boot args...` with a pipe for its stdin and one for its stdout
// and stderr: the keys typed and the screen.
class BootSession {
 public:
  explicit BootSession(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      std::vector<char*> argv{const_cast<char*>(KHARNESS_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(KHARNESS_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    keys_ = in[1];
    screen_ = out[0];
  }
  ~BootSession() {
    if (pid_ > 0 && code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(keys_);
    ::close(screen_);
  }

  // Reads the screen until `needle` shows up after what earlier waits
  // consumed; false on timeout or when kharness exits first.
  bool wait_for(const std::string& needle, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto at = output_.find(needle, seen_);
      if (at != std::string::npos) {
        seen_ = at + needle.size();
        return true;
      }
      if (std::chrono::steady_clock::now() > deadline || !read_some(200ms)) return false;
    }
  }
  void type(const std::string& keys) {
    ASSERT_EQ(::write(keys_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // kharness's exit code, or -1 when it is still running at the timeout.
  int wait_exit(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        while (read_some(0ms)) {
        }
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return code_;
      }
      read_some(50ms);
    }
    return -1;
  }
  const std::string& output() const { return output_; }

 private:
  // False at end of file.
  bool read_some(std::chrono::milliseconds wait) {
    pollfd p{screen_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
    char buf[4096];
    ssize_t n = ::read(screen_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int keys_ = -1, screen_ = -1;
  int code_ = -1;
  std::string output_;
  std::size_t seen_ = 0;
};

TEST(Boot, ShellRunsCommandsAndPoweroffEndsKharness) {
  ScopedTempDir out("kharness-it");
  BootSession s({"boot", "--out", out.path().string()});
  ASSERT_TRUE(s.wait_for(kPrompt, 180s)) << s.output();
  s.type("echo kharness-boot-$((6*7)); cat /proc/cgroups\n");
  EXPECT_TRUE(s.wait_for("kharness-boot-42", 30s)) << "the shell ran it: " << s.output();
  EXPECT_TRUE(s.wait_for("memory", 30s)) << s.output();
  s.type("poweroff -f\n");
  EXPECT_EQ(s.wait_exit(60s), 0) << s.output();
  EXPECT_TRUE(processes_under(out.path()).empty()) << "QEMU outlived kharness boot";
  EXPECT_NE(read_file(out.path() / "console.log").find("kharness-boot-42"), std::string::npos)
      << "the console is kept on disk too";
  EXPECT_TRUE(std::filesystem::exists(out.path() / "initramfs.cpio")) << "the image is kept";
}

TEST(Boot, CtrlAXQuitsQemu) {
  ScopedTempDir out("kharness-it");
  BootSession s({"boot", "--out", out.path().string()});
  ASSERT_TRUE(s.wait_for(kPrompt, 180s)) << s.output();
  s.type("\x01x");
  EXPECT_EQ(s.wait_exit(30s), 0) << s.output();
  EXPECT_TRUE(processes_under(out.path()).empty()) << "QEMU outlived kharness boot";
}

TEST(Boot, RunRunsTheWorkloadThenExitLeavesTheShell) {
  ScopedTempDir out("kharness-it");
  BootSession s({"boot", "--out", out.path().string(), "--run", "--set",
                 "dying-cgroup.iterations=50", "--set", "dying-cgroup.settle_seconds=1"});
  ASSERT_TRUE(s.wait_for(kPrompt, 240s)) << s.output();
  s.type("exit\n");
  EXPECT_EQ(s.wait_exit(60s), 0) << s.output();
  std::string records = read_file(out.path() / "records.jsonl");
  EXPECT_NE(records.find(R"("name":"iterations_done","type":"metric","value":50.0)"),
            std::string::npos)
      << records;
  EXPECT_NE(records.find(R"("status":"ok","type":"done")"), std::string::npos) << records;
  EXPECT_TRUE(processes_under(out.path()).empty());
}

TEST(Boot, SigtermKillsQemu) {
  ScopedTempDir out("kharness-it");
  BootSession s({"boot", "--out", out.path().string()});
  ASSERT_TRUE(s.wait_for(kPrompt, 180s)) << s.output();
  s.signal(SIGTERM);
  EXPECT_EQ(s.wait_exit(30s), 130) << s.output();
  EXPECT_TRUE(processes_under(out.path()).empty()) << "QEMU outlived kharness boot";
}

}  // namespace
}  // namespace kh::it
