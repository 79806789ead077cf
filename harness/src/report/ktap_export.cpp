#include "report/ktap_export.h"

#include <fmt/format.h>

#include <cmath>

namespace kh {
namespace {

// One line, no '#' (a description "can't include #").
std::string clean(std::string s) {
  for (char& c : s)
    if (c == '#')
      c = '_';
    else if (c == '\n' || c == '\r')
      c = ' ';
  return s;
}

std::string number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:g}", v);
}

}  // namespace

std::string ktap_run_name(const RunResult& r) {
  if (!r.run_dir.empty()) return clean(r.run_dir);
  return clean(fmt::format("{}/{}/{}", r.kernel.name, r.arch, r.workload));
}

std::string ktap_export(const std::string& job_name, const std::vector<RunResult>& runs) {
  std::string out = "KTAP version 1\n";
  out += fmt::format("# kharness job {}\n", clean(job_name));
  out += fmt::format("1..{}\n", runs.size());
  int n = 0;
  for (const RunResult& r : runs) {
    ++n;
    const std::string name = ktap_run_name(r);
    const std::size_t subtests = r.assertions.size() + r.cases.size();
    if (subtests > 0) {
      out += "  KTAP version 1\n";
      out += fmt::format("  # Subtest: {}\n", name);
      out += fmt::format("  1..{}\n", subtests);
      int i = 0;
      for (const auto& a : r.assertions) {
        ++i;
        if (!a.passed) {
          if (!a.error.empty())
            out += fmt::format("  # {}\n", clean(a.error));
          else if (!a.left.empty() && std::isfinite(a.left_value))
            out += fmt::format("  # {} was {}\n", clean(a.left), number(a.left_value));
        }
        out += fmt::format("  {} {} assertion {}\n", a.passed ? "ok" : "not ok", i,
                           clean(a.expression));
      }
      for (const auto& c : r.cases) {
        ++i;
        std::string desc = clean(c.program + " " + c.name);
        if (c.status == "skip")
          out += fmt::format("  ok {} {} # SKIP {}\n", i, desc, clean(c.reason));
        else if (c.status == "xfail")
          out += fmt::format("  ok {} {} # XFAIL {}\n", i, desc, clean(c.reason));
        else if (c.status == "fail") {
          if (!c.reason.empty()) out += fmt::format("  # {}\n", clean(c.reason));
          out += fmt::format("  not ok {} {}\n", i, desc);
        } else {
          out += fmt::format("  ok {} {}\n", i, desc);
        }
      }
    }
    if (!r.key_metric.empty())
      if (auto it = r.metrics.find(r.key_metric);
          it != r.metrics.end() && std::isfinite(it->second))
        out += fmt::format("# {} = {}\n", clean(r.key_metric), number(it->second));
    switch (r.outcome) {
      case Outcome::pass:
        out += fmt::format("ok {} {}\n", n, name);
        break;
      case Outcome::fail:
        // The reason last before the result line: KTAP readers (ours
        // too) take it as the failure's diagnostic.
        if (!r.reason.empty()) out += fmt::format("# {}\n", clean(r.reason));
        out += fmt::format("not ok {} {}\n", n, name);
        break;
      case Outcome::skip:
        out += fmt::format("ok {} {} # SKIP {}\n", n, name, clean(r.reason));
        break;
      case Outcome::infra:
        out += fmt::format("not ok {} {} # ERROR {}\n", n, name, clean(r.reason));
        break;
    }
  }
  return out;
}

}  // namespace kh
