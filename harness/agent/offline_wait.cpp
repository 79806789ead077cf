// offline_wait.cpp — see offline_wait.h.
#include "offline_wait.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace kh {

double removal_barrier(const cgroup::Hierarchy& h, double max_seconds) {
  if (h.barrier.empty()) return -1;
  const double start = monotonic_seconds();
  // A marker from an earlier barrier that timed out may still be dying:
  // wait for this one only.
  const long before = cgroup::dying_descendants(h.barrier);
  if (before < 0) return -1;
  static long serial = 0;
  const std::string marker = h.barrier + "/m" + std::to_string(++serial);
  if (::mkdir(marker.c_str(), 0755) != 0) return -1;
  if (::rmdir(marker.c_str()) != 0) return -1;
  for (;;) {
    const long now = cgroup::dying_descendants(h.barrier);
    if (now >= 0 && now <= before) return monotonic_seconds() - start;
    if (now < 0 || monotonic_seconds() - start >= max_seconds) return -1;
    sleep_ms(2);
  }
}

double wait_for_offline_work(const cgroup::Hierarchy& h, double max_seconds) {
  const double start = monotonic_seconds();
  const double barrier = removal_barrier(h, max_seconds);
  const double quiet = barrier >= 0 ? std::max(0.1, 3 * barrier) : 1.0;
  const long poll_ms = barrier >= 0 ? 10 : 100;
  long dying = cgroup::dying_count(h);
  double last_change = monotonic_seconds();
  while (dying != 0 && monotonic_seconds() - last_change < quiet &&
         monotonic_seconds() - start < max_seconds) {
    sleep_ms(poll_ms);
    const long now = cgroup::dying_count(h);
    if (now != dying) last_change = monotonic_seconds();
    dying = now;
  }
  return monotonic_seconds() - start;
}

}  // namespace kh
