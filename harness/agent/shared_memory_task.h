// shared_memory_task.h — tasks that share the agent's memory (clone with
// CLONE_VM, but not CLONE_THREAD: each is a process of its own, so it can
// sit in a cgroup of its own).
//
// Why: in a cgroup v1 hierarchy with memory.move_charge_at_immigrate set (as
// the 2021 kmem-reparenting script sets it), moving the owner of an mm moves
// every page it has charged, behind lru_add_drain_all() and an RCU grace
// period: ~15 ms a move under TCG, three moves an iteration. A task that is
// not its mm's owner moves for free and charges its page faults to the
// owner's memcg, so what it leaves in a cgroup it visits is exactly the
// kernel memory of the tasks it creates there (their stacks, task_structs):
// the pin the kmem case is about.
#pragma once

#include <functional>
#include <sys/types.h>

namespace kh {

// Runs `fn` in a task sharing our memory and waits for it; an exception
// `fn` throws is rethrown here. We only wait meanwhile, so `fn` may use
// anything of ours (allocations, records) as if it were us.
void run_in_shared_memory_task(const std::function<void()>& fn);

// A task sharing our memory that sleeps until killed; a child of our parent
// (CLONE_PARENT), so that the agent reaps it. Its kernel stack is charged
// to the caller's memory cgroup. Returns its pid, or -1 with errno set.
pid_t spawn_shared_memory_sleeper();

}  // namespace kh
