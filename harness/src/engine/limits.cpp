#include "engine/limits.h"

#include <fmt/format.h>

#include <cstdlib>
#include <regex>

#include "analysis/assertions.h"
#include "util/error.h"

namespace kh {
namespace {

std::string number(double v) {
  return v == static_cast<double>(static_cast<long long>(v)) ? fmt::format("{}", static_cast<long long>(v))
                                                             : fmt::format("{:.6g}", v);
}

// "a <= b" -> {"a", "<=", "b"}; empty op when `check` is not one comparison.
struct Sides {
  std::string left, op, right;
};
Sides split_comparison(const std::string& check) {
  static const std::regex re(R"(^(.*?)\s*(<=|>=|==|!=|<|>)\s*(.*)$)");
  std::smatch m;
  if (!std::regex_match(check, m, re)) return {};
  return {m[1], m[2], m[3]};
}

}  // namespace

std::string limit_violation(const PlannedRun& run) {
  Metrics vars;
  for (const auto& [name, value] : run.params) {
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (!value.empty() && end && *end == '\0') vars[name] = v;
  }
  vars["disk_mb"] = run.spec.machine.disk_mb;
  vars["memory_mb"] = run.spec.machine.memory_mb;
  vars["cpus"] = run.spec.machine.cpus;
  for (const Limit& limit : run.spec.limits) {
    bool applies = true;
    for (const auto& [name, value] : limit.when)
      if (auto it = run.params.find(name); it == run.params.end() || it->second != value)
        applies = false;
    if (!applies) continue;
    auto ok = evaluate(limit.check, vars);
    if (!ok)  // a workload.yaml mistake: say where
      throw InputError(fmt::format("{}: limit '{}': {}", limit.where, limit.check, ok.error().message));
    if (*ok != 0) continue;
    // Name the parameters the check reads, with their values.
    std::string named;
    for (const auto& [name, value] : run.params)
      if (std::regex_search(limit.check, std::regex("\\b" + name + "\\b")))
        named += (named.empty() ? "" : ", ") + name + "=" + value;
    std::string values;
    Sides s = split_comparison(limit.check);
    if (!s.op.empty()) {
      auto l = evaluate(s.left, vars), r = evaluate(s.right, vars);
      if (l && r) values = fmt::format(" is {} {} {}", number(*l), s.op, number(*r));
    }
    return fmt::format("{}: {} cannot fit the guest: {}{} ({}; {})", run.run_dir,
                       named.empty() ? "the machine" : named, limit.check, values, limit.why,
                       limit.where);
  }
  return "";
}

void check_limits(const std::vector<PlannedRun>& plan) {
  for (const PlannedRun& run : plan)
    if (std::string why = limit_violation(run); !why.empty()) throw InputError(why);
}

}  // namespace kh
