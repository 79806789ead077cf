#include "report/junit.h"

#include <fmt/format.h>

#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <tuple>

namespace kh {
namespace {

double total_seconds(const RunResult& r) {
  auto it = r.timings.find("total");
  return it == r.timings.end() ? 0.0 : it->second;
}

std::string seconds(double s) {
  return fmt::format("{:.3f}", s);
}

// What went wrong, one line each: the body of <failure> and <error>.
std::string details(const RunResult& r) {
  std::string out;
  for (const auto& a : r.assertions) {
    if (a.passed) continue;
    if (!a.error.empty())
      out += fmt::format("assertion error: {}: {}\n", a.expression, a.error);
    else if (!a.detail.empty())
      out += fmt::format("assertion failed: {}: {}\n", a.expression, a.detail);
    else
      out += fmt::format("assertion failed: {} (value {})\n", a.expression, a.value);
  }
  const ConsoleFinding* first = nullptr;
  for (const auto& f : r.console) {
    out += fmt::format("console.log:{}: {}: {}{}{}\n", f.line, f.kind, f.title,
                       f.corrupted ? " (report cut off)" : "", f.tolerated ? " (tolerated)" : "");
    if (!first && !f.tolerated) first = &f;
  }
  // The first report as printed: what a developer reads first.
  if (first && !first->excerpt.empty()) out += "\n" + first->excerpt;
  return out;
}

}  // namespace

std::string junit_xml(const std::string& job_name, const std::vector<RunResult>& runs) {
  // "#<repeat>" only where a run is repeated, so a single run reads "workload".
  std::set<std::tuple<std::string, std::string, std::string>> repeated;
  for (const RunResult& r : runs)
    if (r.repeat > 0) repeated.emplace(r.kernel.name, r.arch, r.workload);

  int tests = static_cast<int>(runs.size()), failures = 0, errors = 0, skipped = 0;
  double time = 0;
  for (const RunResult& r : runs) {
    failures += r.outcome == Outcome::fail;
    errors += r.outcome == Outcome::infra;
    skipped += r.outcome == Outcome::skip;
    time += total_seconds(r);
    for (const TestCase& c : r.cases) {
      ++tests;
      failures += c.status == "fail";
      skipped += c.status == "skip";
    }
  }

  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";

  auto suites = doc.append_child("testsuites");
  suites.append_attribute("name") = job_name.c_str();
  suites.append_attribute("tests") = tests;
  suites.append_attribute("failures") = failures;
  suites.append_attribute("errors") = errors;
  suites.append_attribute("skipped") = skipped;
  suites.append_attribute("time") = seconds(time).c_str();

  auto suite = suites.append_child("testsuite");
  suite.append_attribute("name") = job_name.c_str();
  suite.append_attribute("tests") = tests;
  suite.append_attribute("failures") = failures;
  suite.append_attribute("errors") = errors;
  suite.append_attribute("skipped") = skipped;
  suite.append_attribute("time") = seconds(time).c_str();

  for (const RunResult& r : runs) {
    std::string name = r.workload;
    if (repeated.count({r.kernel.name, r.arch, r.workload})) name += fmt::format("#{}", r.repeat);
    auto tc = suite.append_child("testcase");
    tc.append_attribute("classname") = (r.kernel.name + "." + r.arch).c_str();
    tc.append_attribute("name") = name.c_str();
    tc.append_attribute("time") = seconds(total_seconds(r)).c_str();

    std::string reason = r.reason.empty() ? std::string(to_string(r.outcome)) : r.reason;
    switch (r.outcome) {
      case Outcome::pass:
        break;
      case Outcome::fail: {
        auto f = tc.append_child("failure");
        f.append_attribute("message") = reason.c_str();
        f.append_attribute("type") = "fail";
        if (std::string d = details(r); !d.empty()) f.text().set(d.c_str());
        break;
      }
      case Outcome::infra: {
        auto e = tc.append_child("error");
        e.append_attribute("message") = reason.c_str();
        e.append_attribute("type") = "infra";
        if (std::string d = details(r); !d.empty()) e.text().set(d.c_str());
        break;
      }
      case Outcome::skip: {
        auto s = tc.append_child("skipped");
        s.append_attribute("message") = reason.c_str();
        break;
      }
    }

    std::string out = fmt::format("run_dir: {}\nrelease: {}\n", r.run_dir, r.kernel.release);
    if (!r.accel.empty())
      out += fmt::format("accel: {}{}{}\n", r.accel, r.accel_note.empty() ? "" : " (",
                         r.accel_note.empty() ? "" : r.accel_note + ")");
    tc.append_child("system-out").text().set(out.c_str());

    // Each subtest of a program the workload ran (a selftest's KTAP line)
    // is a testcase of its own, under the run's name.
    for (const TestCase& c : r.cases) {
      auto ct = suite.append_child("testcase");
      ct.append_attribute("classname") = (r.kernel.name + "." + r.arch + "." + name).c_str();
      ct.append_attribute("name") = (c.program + "/" + c.name).c_str();
      ct.append_attribute("time") = "0";
      if (c.status == "fail") {
        auto f = ct.append_child("failure");
        f.append_attribute("message") = (c.reason.empty() ? "not ok" : c.reason).c_str();
        f.append_attribute("type") = "fail";
      } else if (c.status == "skip") {
        ct.append_child("skipped").append_attribute("message") = c.reason.c_str();
      }
    }
  }

  std::ostringstream xml;
  doc.save(xml, "  ", pugi::format_indent, pugi::encoding_utf8);
  return xml.str();
}

}  // namespace kh
