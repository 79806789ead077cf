#include "analysis/ktap.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#include "util/text.h"

namespace kh {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// "123 rest" -> 123, rest; false when no number.
bool take_number(std::string_view& s, long& n) {
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  n = std::strtol(std::string(s.substr(0, i)).c_str(), nullptr, 10);
  s.remove_prefix(i);
  return true;
}

}  // namespace

KtapResult parse_ktap(std::string_view text, const std::string& program, int exit_status,
                      bool timed_out) {
  KtapResult out;
  std::string last_diag;  // the last "# ..." line since the previous result
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') continue;  // nested

    if (line.front() == '#') {
      std::string_view d = trim(line.substr(1));
      if (!d.empty() && !starts_with_ci(d, "Totals:") && !starts_with_ci(d, "Planned tests"))
        last_diag = std::string(d);
      continue;
    }
    if (starts_with_ci(line, "Bail out!")) {
      out.bailed_out = true;
      out.cases.push_back({program, "bail out", "fail", std::string(trim(line.substr(9)))});
      continue;
    }
    if (line.starts_with("1..")) {
      std::string_view rest = line.substr(3);
      long n = 0;
      if (!take_number(rest, n)) continue;
      out.planned = static_cast<int>(n);
      rest = trim(rest);
      if (n == 0 && rest.starts_with("#")) {
        std::string_view directive = trim(rest.substr(1));
        if (starts_with_ci(directive, "SKIP"))
          out.cases.push_back({program, program, "skip", std::string(trim(directive.substr(4)))});
      }
      continue;
    }
    bool ok = line.starts_with("ok ");
    if (!ok && !line.starts_with("not ok ")) continue;
    std::string_view rest = line.substr(ok ? 3 : 7);
    long number = 0;
    if (!take_number(rest, number)) continue;
    rest = trim(rest);
    if (rest.starts_with("- ")) rest.remove_prefix(2);
    std::string_view name = rest, directive;
    if (std::size_t hash = rest.find(" # "); hash != std::string_view::npos) {
      name = trim(rest.substr(0, hash));
      directive = trim(rest.substr(hash + 3));
    } else if (rest.starts_with("# ")) {
      name = {};
      directive = trim(rest.substr(2));
    }
    TestCase c{program, std::string(name), ok ? "pass" : "fail", ""};
    auto directive_text = [&](std::size_t word) {
      return std::string(trim(directive.substr(word)));
    };
    if (starts_with_ci(directive, "SKIP")) {
      c.status = "skip";
      // kselftest prints "ok N # SKIP <test name>" with the reason, if any,
      // in a "# " line before it.
      if (c.name.empty()) {
        c.name = directive_text(4);
        c.reason = last_diag.empty() ? "skipped" : last_diag;
      } else {
        c.reason = directive_text(4);
      }
    } else if (starts_with_ci(directive, "XFAIL")) {
      c.status = "xfail";
      if (c.name.empty()) c.name = directive_text(5);
      c.reason = last_diag;
    } else if (starts_with_ci(directive, "error")) {
      c.status = "fail";
      if (c.name.empty()) c.name = directive_text(5);
      c.reason = "error";
    } else if (!ok) {
      c.reason = last_diag;
    }
    if (c.name.empty()) c.name = fmt::format("test {}", number);
    out.cases.push_back(std::move(c));
    last_diag.clear();
  }

  int reported = 0;
  for (const auto& c : out.cases)
    if (c.name != "bail out") ++reported;
  bool whole_skip = out.planned == 0 && !out.cases.empty();
  if (!whole_skip && !out.bailed_out &&
      (out.planned > reported || (out.planned < 0 && reported == 0))) {
    std::string how = timed_out ? "timed out" : fmt::format("exit status {}", exit_status);
    std::string what = out.planned > 0 ? fmt::format("{} of {} planned tests never reported",
                                                     out.planned - reported, out.planned)
                                       : std::string("no KTAP results at all");
    out.cases.push_back({program, "incomplete", "fail", fmt::format("{} ({})", what, how)});
  }
  return out;
}

}  // namespace kh
