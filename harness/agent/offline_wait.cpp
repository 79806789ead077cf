// offline_wait.cpp — see offline_wait.h.
#include "offline_wait.h"

namespace kh {

double wait_for_offline_work(const cgroup::Hierarchy& h, double max_seconds) {
  const double start = monotonic_seconds();
  long dying = cgroup::dying_count(h);
  double last_change = start;
  while (dying != 0 && monotonic_seconds() - last_change < 1.0 &&
         monotonic_seconds() - start < max_seconds) {
    sleep_ms(100);
    const long now = cgroup::dying_count(h);
    if (now != dying) last_change = monotonic_seconds();
    dying = now;
  }
  return monotonic_seconds() - start;
}

}  // namespace kh
