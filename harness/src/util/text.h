// Small helpers over text that several parsers share (console, KTAP,
// snapshot files, kconfig).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace kh {

// `s` without leading and trailing whitespace (blanks, tabs, "\r", "\n").
inline std::string_view trim(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Appends `words` to `line`, a space between them when both have some.
inline void append_words(std::string& line, std::string_view words) {
  if (words.empty()) return;
  if (!line.empty()) line += ' ';
  line += words;
}

// Calls f(line) for each line of `text`, without its "\n" (the last line
// may lack one; an empty text has no lines).
template <class F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    f(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
}

}  // namespace kh
