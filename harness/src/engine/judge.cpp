#include "engine/judge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "analysis/invariants.h"
#include "kernel/kconfig.h"
#include "util/files.h"

namespace kh {

std::string missing_workload_config(const WorkloadSpec& spec, const std::string& final_config,
                                    const std::string& arch,
                                    const std::vector<std::string>& not_applicable) {
  const auto fragments = spec.config_for(arch);
  if (fragments.empty()) return "";
  std::vector<ConfigSetting> requested;
  for (const auto& path : fragments) {
    std::string origin = spec.dir.empty() ? path.filename().string()
                                          : spec.dir.filename().string() + "/" +
                                                path.lexically_relative(spec.dir).string();
    auto settings = parse_kconfig(read_file(path), origin);
    requested.insert(requested.end(), settings.begin(), settings.end());
  }
  auto lost = lost_symbols(requested, config_values(parse_kconfig(final_config, ".config")));
  std::erase_if(lost, [&](const ConfigSetting& c) {
    return std::find(not_applicable.begin(), not_applicable.end(), c.symbol) !=
           not_applicable.end();
  });
  if (lost.empty()) return "";
  return fmt::format("the kernel lacks what workload '{}' needs: {}", spec.name,
                     describe_lost(lost));
}

void mark_tolerated(std::vector<ConsoleFinding>& findings,
                    const std::vector<std::string>& tolerate) {
  for (auto& f : findings)
    f.tolerated = std::find(tolerate.begin(), tolerate.end(), f.title) != tolerate.end();
}

std::optional<std::pair<unsigned long, unsigned long>> taint_appeared(const AgentRecords& records) {
  std::vector<unsigned long> seen;
  for (const auto& snap : records.snapshots) {
    auto it = snap.files.find("/proc/sys/kernel/tainted");
    if (it != snap.files.end()) seen.push_back(std::strtoul(it->second.c_str(), nullptr, 10));
  }
  if (seen.size() < 2 || (seen.back() & ~seen.front()) == 0) return std::nullopt;
  return std::make_pair(seen.front(), seen.back());
}

std::vector<AssertionResult> invariant_results(const WorkloadSpec& spec,
                                               const AgentRecords& records) {
  if (!spec.invariants_off.empty()) return {};
  InvariantLimits limits;
  limits.cpus = spec.machine.cpus;
  return invariant_assertions(check_invariants(records.snapshots, limits));
}

Verdict judge_run(const VmExit& vm, const ConsoleFindings& console, const AgentRecords& records,
                  const std::vector<AssertionResult>& assertions,
                  const std::vector<TestCase>& cases) {
  if (vm.kind == VmExitKind::interrupted) return {Outcome::infra, "interrupted"};
  std::vector<const ConsoleFinding*> findings;
  for (const auto& f : console.findings)
    if (!f.tolerated) findings.push_back(&f);
  // The first finding is the cause (an oops comes before the panic it
  // leads to); its title is the reason, whatever the VM did after it.
  if (!findings.empty()) {
    const auto& f = *findings.front();
    std::string more = findings.size() > 1 ? fmt::format(" (+{} more)", findings.size() - 1) : "";
    return {Outcome::fail, f.title + more};
  }
  // A taint the run added fails it even when the console lost the message.
  // When a tolerated finding is there, it explains the taint (a WARNING
  // taints W), so the taint alone does not fail the run.
  if (auto taint = taint_appeared(records); taint && console.findings.empty())
    return {Outcome::fail,
            fmt::format("kernel tainted during the run: {} (was {})", taint->second, taint->first)};
  switch (vm.kind) {
    case VmExitKind::vm_failed:
      return {Outcome::infra, fmt::format("QEMU failed (exit {}): {}", vm.exit_code, vm.vm_output)};
    case VmExitKind::host_failed:
      return {Outcome::infra, "host failed: " + vm.vm_output};
    case VmExitKind::boot_timeout:
      return {Outcome::infra,
              console.booted ? "boot timeout: the kernel started but the agent never reported ready"
                             : "boot timeout: no kernel output on the console"};
    case VmExitKind::run_timeout:
      return {Outcome::infra, "workload timeout: the agent did not finish in time"};
    default:
      break;
  }
  if (!records.unsupported.empty())
    return {Outcome::skip, "kernel lacks: " + records.unsupported.front()};
  if (!records.setup_errors.empty())
    return {Outcome::infra, "agent setup: " + records.setup_errors.front()};
  if (!records.limit_errors.empty())
    return {Outcome::infra, "the guest ran out of room the harness gave it (not the kernel's "
                            "verdict; raise the machine's size or lower the parameter): " +
                                records.limit_errors.front()};
  if (!records.workload_errors.empty())
    return {Outcome::fail, "workload: " + records.workload_errors.front()};
  if (!records.ready)
    return {Outcome::infra, "the guest powered off before the agent reported ready"};
  if (!records.done) return {Outcome::infra, "the guest powered off before the agent finished"};
  std::vector<std::string> failed;
  std::string unjudged;  // the first assertion over a metric the kernel did not provide
  for (const auto& a : assertions)
    if (!a.passed && !a.missing.empty()) {
      if (unjudged.empty()) unjudged = fmt::format("{} ({})", a.expression, a.error);
    } else if (!a.passed)
      failed.push_back(!a.error.empty()    ? fmt::format("{} ({})", a.expression, a.error)
                       : !a.detail.empty() ? fmt::format("{}: {}", a.expression, a.detail)
                       : !a.left.empty()
                           ? fmt::format("{} ({} was {:g})", a.expression, a.left, a.left_value)
                           : fmt::format("{} (was {:g})", a.expression, a.value));
  if (failed.empty() && !unjudged.empty())
    return {Outcome::skip, "cannot judge on this kernel: " + unjudged};
  if (failed.empty()) return {Outcome::pass, ""};
  std::string more = failed.size() > 1 ? fmt::format(" (+{} more)", failed.size() - 1) : "";
  std::string reason = "assertion failed: " + failed.front() + more;
  // The programs' failed cases say what the counts behind it were.
  std::string names;
  int n = 0;
  for (const auto& c : cases)
    if (c.status == "fail" && n++ < 3)
      names += (names.empty() ? "" : ", ") + c.program + "/" + c.name;
  if (!names.empty()) reason += "; failed cases: " + names + (n > 3 ? ", ..." : "");
  return {Outcome::fail, reason};
}

}  // namespace kh
