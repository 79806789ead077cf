#include "util/status.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace kh {
namespace {
double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

TerminalStatus::TerminalStatus(bool verbose) : tty_(::isatty(2) != 0), verbose_(verbose) {}

void TerminalStatus::clear_progress() {
  if (tty_ && progress_shown_) {
    std::fputs("\r\033[K", stderr);
    progress_shown_ = false;
  }
}

void TerminalStatus::step(std::string_view subject, std::string_view what) {
  std::lock_guard lock(mu_);
  clear_progress();
  fmt::print(stderr, "[{}] {}\n", subject, what);
}

void TerminalStatus::progress(std::string_view subject, std::string_view line) {
  std::lock_guard lock(mu_);
  std::string text = fmt::format("[{}] {}", subject, line);
  if (tty_) {
    if (text.size() > 118) text = text.substr(0, 118);
    fmt::print(stderr, "\r\033[K{}", text);
    std::fflush(stderr);
    progress_shown_ = true;
    return;
  }
  // Not a tty (CI logs): at most one progress line every 15 s unless verbose.
  double t = now_seconds();
  if (!verbose_ && t - last_progress_time_ < 15) return;
  last_progress_time_ = t;
  fmt::print(stderr, "{}\n", text);
}

void TerminalStatus::info(std::string_view line) {
  std::lock_guard lock(mu_);
  clear_progress();
  fmt::print(stderr, "{}\n", line);
}

void TerminalStatus::warn(std::string_view line) {
  std::lock_guard lock(mu_);
  clear_progress();
  fmt::print(stderr, "warning: {}\n", line);
}

void QuietStatus::step(std::string_view subject, std::string_view what) {
  std::string line = fmt::format("[{}] {}", subject, what);
  std::lock_guard lock(mu_);
  last_step = std::move(line);
}

void QuietStatus::info(std::string_view line) {
  std::lock_guard lock(mu_);
  last_info = line;
}

void QuietStatus::warn(std::string_view line) {
  std::lock_guard lock(mu_);
  last_warn = line;
}

}  // namespace kh
