// Time stamps and elapsed time, one way for the whole harness.
#pragma once

#include <chrono>
#include <string>

namespace kh {

using SteadyClock = std::chrono::steady_clock;

// Seconds from `t` to now.
double seconds_since(SteadyClock::time_point t);

// Now in UTC, ISO 8601 to the second: "2026-11-24T21:56:01Z" (result.json,
// the history store).
std::string utc_timestamp();

// Now in local time, for folder names a person reads: "20261124-215601".
std::string folder_timestamp();

}  // namespace kh
