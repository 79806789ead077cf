// shared_memory_task.cpp — see shared_memory_task.h.
#include "shared_memory_task.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <exception>

#include "cgroup.h"

namespace kh {
namespace {

constexpr size_t kTaskStack = 1 << 20;   // runs C++: room for deep calls
constexpr size_t kSleeperStack = 16384;  // one syscall in a loop

void* map_stack(size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

struct TaskArgs {
  const std::function<void()>* fn;
  std::exception_ptr error;
};

int task_main(void* arg) {
  auto* a = static_cast<TaskArgs*>(arg);
  try {
    (*a->fn)();
  } catch (...) {
    a->error = std::current_exception();
  }
  return 0;
}

int sleeper_main(void*) {
  // Raw syscalls only: the TLS (errno) is the agent's. ppoll with no fds
  // and no timeout sleeps until a signal kills us (arm64 has no pause).
  for (;;) ::syscall(SYS_ppoll, nullptr, 0, nullptr, nullptr, 0);
  return 0;
}

}  // namespace

void run_in_shared_memory_task(const std::function<void()>& fn) {
  void* stack = map_stack(kTaskStack);
  if (!stack) fail_setup(errno_message("mmap a task stack", errno));
  TaskArgs args{&fn, nullptr};
  const pid_t pid =
      ::clone(task_main, static_cast<char*>(stack) + kTaskStack, CLONE_VM | SIGCHLD, &args);
  if (pid < 0) {
    const int err = errno;
    ::munmap(stack, kTaskStack);
    fail_setup(errno_message("clone a task sharing our memory", err));
  }
  int status = 0;
  while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
  ::munmap(stack, kTaskStack);
  if (args.error) std::rethrow_exception(args.error);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_setup("the task sharing our memory died (signal " +
               std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0) + ")");
}

pid_t spawn_shared_memory_sleeper() {
  // Never unmapped: the sleeper runs on it until it is killed, at the end
  // of the workload; a few MB for thousands of sleepers, untouched but for
  // a page each.
  void* stack = map_stack(kSleeperStack);
  if (!stack) return -1;
  return ::clone(sleeper_main, static_cast<char*>(stack) + kSleeperStack,
                 CLONE_VM | CLONE_PARENT | SIGCHLD, nullptr);
}

}  // namespace kh
