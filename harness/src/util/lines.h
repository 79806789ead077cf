// Splitting a byte stream that arrives in chunks (a console file read as it
// grows, a libvirt stream) into lines.
#pragma once

#include <string>
#include <string_view>

namespace kh {

// Hands each complete line of what it is fed to a callback, without its
// "\n" and a "\r" before it (serial consoles end lines with "\r\n"); keeps
// an incomplete last line until the rest of it comes.
class LineSplitter {
 public:
  template <class F>
  void feed(std::string_view chunk, F&& on_line) {
    pending_ += chunk;
    std::size_t start = 0, nl;
    while ((nl = pending_.find('\n', start)) != std::string::npos) {
      std::string_view line(pending_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line(std::string(line));
      start = nl + 1;
    }
    pending_.erase(0, start);
  }
  // What came after the last "\n" so far.
  const std::string& pending() const { return pending_; }

 private:
  std::string pending_;
};

}  // namespace kh
