#include "util/clock.h"

#include <ctime>

namespace kh {
namespace {

std::string format_now(const char* format, bool utc) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  if (utc)
    gmtime_r(&t, &tm);
  else
    localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

std::string utc_timestamp() { return format_now("%Y-%m-%dT%H:%M:%SZ", true); }

std::string folder_timestamp() { return format_now("%Y%m%d-%H%M%S", false); }

}  // namespace kh
