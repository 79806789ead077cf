#include "exec.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "cgroup.h"

namespace kh {
namespace {

constexpr int kPortWaitMs = 5000;

std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail_setup(std::string("config.json: exec.") + key + " must be a string");
  return it->get<std::string>();
}

// A virtio console port, raw (no \n -> \r\n), for the command to write to.
int open_port(const std::string& path) {
  if (!wait_for_path(path, kPortWaitMs)) fail_setup(path + ": no such port after 5 s");
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY);
  if (fd < 0) fail_setup(errno_message("open " + path, errno));
  termios tio{};
  if (::tcgetattr(fd, &tio) == 0) {
    ::cfmakeraw(&tio);
    ::tcsetattr(fd, TCSANOW, &tio);
  }
  return fd;
}

}  // namespace

bool parse_exec(const nlohmann::json& config, ExecSpec& out) {
  const auto it = config.find("exec");
  if (it == config.end() || it->is_null()) return false;
  if (!it->is_object()) fail_setup("config.json: \"exec\" must be an object");
  const auto argv = it->find("argv");
  if (argv == it->end() || !argv->is_array() || argv->empty())
    fail_setup("config.json: exec.argv must be a non-empty list of strings");
  for (const auto& a : *argv) {
    if (!a.is_string()) fail_setup("config.json: exec.argv must be a non-empty list of strings");
    out.argv.push_back(a.get<std::string>());
  }
  out.cwd = string_field(*it, "cwd", "/");
  out.stdout_port = string_field(*it, "stdout", "");
  out.stderr_port = string_field(*it, "stderr", "");
  if (out.stdout_port.empty() || out.stderr_port.empty())
    fail_setup("config.json: exec.stdout and exec.stderr must name the output ports");
  return true;
}

void run_exec(Records& records, const ExecSpec& spec) {
  const int out = open_port(spec.stdout_port);
  const int err = open_port(spec.stderr_port);
  const pid_t pid = ::fork();
  if (pid < 0) fail_setup(errno_message("fork", errno));
  if (pid == 0) {
    prepare_child(out, err, spec.cwd);
    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    static const char* const kEnv[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root",
                                       "TERM=dumb", nullptr};
    ::execvpe(argv[0], argv.data(), const_cast<char* const*>(kEnv));
    const int e = errno;
    const std::string msg = errno_message("kharness: " + spec.argv[0], e) + "\n";
    [[maybe_unused]] const ssize_t n = ::write(2, msg.data(), msg.size());
    ::_exit(e == ENOENT ? 127 : 126);  // as a shell says "not found" / "cannot execute"
  }
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(-1, &status, 0);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) fail_setup(errno_message("waitpid", errno));
  }
  // What the command wrote reaches the host before its status does.
  ::tcdrain(out);
  ::tcdrain(err);
  ::close(out);
  ::close(err);
  int code = -1;
  if (WIFEXITED(status)) code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    code = 128 + WTERMSIG(status);
    records.log("the command was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  records.metric("exit_status", code);
}

}  // namespace kh
