// Where the engine reports progress. The engine never prints: it tells a
// Status, and main() picks the terminal one or a quiet one (tests, --quiet).
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace kh {

// Every implementation is called from several threads at once (the runs
// of a job, builds of several kernels).
class Status {
 public:
  virtual ~Status() = default;
  // A step begins for a subject ("linux-6.1/x86_64", "build").
  virtual void step(std::string_view subject, std::string_view what) = 0;
  // A transient progress line for the current step (overwritten on a tty).
  virtual void progress(std::string_view subject, std::string_view line) = 0;
  // A line worth keeping in the scrollback.
  virtual void info(std::string_view line) = 0;
  virtual void warn(std::string_view line) = 0;
};

// Prints to stderr; on a tty, progress lines overwrite each other.
class TerminalStatus : public Status {
 public:
  explicit TerminalStatus(bool verbose = false);
  void step(std::string_view subject, std::string_view what) override;
  void progress(std::string_view subject, std::string_view line) override;
  void info(std::string_view line) override;
  void warn(std::string_view line) override;

 private:
  void clear_progress();
  std::mutex mu_;  // runs report from several threads
  bool tty_;
  bool verbose_;
  bool progress_shown_ = false;
  std::string last_progress_;
  double last_progress_time_ = 0;
};

// Swallows everything but remembers the last lines (tests assert on them).
// Keeps only the last line of each kind (tests read them once the work is
// done). Runs report from several threads at once, so every call locks.
class QuietStatus : public Status {
 public:
  void step(std::string_view subject, std::string_view what) override;
  void progress(std::string_view, std::string_view) override {}
  void info(std::string_view line) override;
  void warn(std::string_view line) override;
  std::string last_step, last_info, last_warn;

 private:
  std::mutex mu_;
};

}  // namespace kh
