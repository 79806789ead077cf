// offline_wait.h — waiting for a kernel's work on removed memory cgroups.
#pragma once

#include "cgroup.h"

namespace kh {

// After rmdirs, the kernel takes a memcg offline from a worker, and frees
// it when its last reference goes: work still running when rmdir returns
// (a kernel that reparents moving pages, one that reclaims at offline
// retrying after writeback). Polls the dying count every 100 ms until it
// is 0 or has not changed for a second, at most `max_seconds`. Returns the
// seconds it waited. Drops nothing from any cache: what the kernel keeps
// stays.
double wait_for_offline_work(const cgroup::Hierarchy& h, double max_seconds);

}  // namespace kh
