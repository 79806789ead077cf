// offline_wait.h — waiting for a kernel's work on removed memory cgroups.
#pragma once

#include "cgroup.h"

namespace kh {

// A removal barrier. After rmdir the kernel takes a cgroup offline and
// frees it from workers, after RCU grace periods (kill -> grace period ->
// offline work -> release work -> grace period -> free), one removal after
// another in the order they were asked for. The barrier removes a marker
// cgroup that holds nothing under h.barrier and waits (polling every 2 ms)
// until the kernel has freed it: the removals asked for before it have
// then been through the same steps. It measures this kernel's removal
// latency instead of guessing a time. Returns the seconds it took, or -1
// when h has no barrier or the marker was not freed within `max_seconds`
// (the callers then fall back to polling the dying count).
double removal_barrier(const cgroup::Hierarchy& h, double max_seconds);

// Waits for the kernel's work on the removed memory cgroups to end: work
// still running when rmdir returns (a kernel that reparents moving pages at
// offline; one that reclaims at offline, retrying from a delayed work after
// writeback). A removal barrier, then the dying count polled every 10 ms
// until it is 0 or has not changed for three barrier latencies (0.1 s at
// least); without a barrier, every 100 ms until unchanged for a second. At
// most `max_seconds` in all. Returns the seconds it waited. Drops nothing
// from any cache: what the kernel keeps stays.
double wait_for_offline_work(const cgroup::Hierarchy& h, double max_seconds);

}  // namespace kh
