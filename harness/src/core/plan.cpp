#include "core/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/error.h"

namespace kh {
namespace {

bool wanted(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

// A workload selector names a job entry by its id; only when no entry has
// that id does it name every entry of that workload (so "dying-cgroup" in
// the default job is the entry with that id, not dying-cgroup-kmem too).
bool selects(const Job& job, const std::string& selector, const WorkloadRef& ref) {
  bool is_id = std::any_of(job.workloads.begin(), job.workloads.end(),
                           [&](const WorkloadRef& r) { return r.id == selector; });
  return is_id ? ref.id == selector : ref.workload == selector;
}

bool selected(const Job& job, const std::vector<std::string>& selectors, const WorkloadRef& ref) {
  if (selectors.empty()) return true;
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const std::string& s) { return selects(job, s, ref); });
}

struct Set {
  std::string workload, param, value;
};

Set parse_set(const std::string& s) {
  auto eq = s.find('=');
  auto dot = s.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq)
    throw InputError(fmt::format(
        "--set {}: expected WORKLOAD.PARAM=VALUE (e.g. dying-cgroup.iterations=500)", s));
  return {s.substr(0, dot), s.substr(dot + 1, eq - dot - 1), s.substr(eq + 1)};
}

}  // namespace

std::vector<std::filesystem::path> job_workload_config(const Job& job, const WorkloadLoader& load,
                                                       const std::string& arch) {
  std::vector<std::filesystem::path> out;
  std::vector<std::string> seen;
  for (const auto& ref : job.workloads) {
    if (std::find(seen.begin(), seen.end(), ref.workload) != seen.end()) continue;
    seen.push_back(ref.workload);
    for (const auto& f : load(ref.workload).config_for(arch))
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  }
  return out;
}

void resolve_file_params(std::vector<PlannedRun>& plan, const std::filesystem::path& job_dir,
                         const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  for (auto& run : plan) {
    for (const auto& p : run.spec.params) {
      if (!p.file) continue;
      std::string& value = run.params[p.name];
      if (value.empty())
        throw InputError(fmt::format("{}: {}.{} names no file (set it in the job or with --set)",
                                     run.run_dir, run.spec.name, p.name));
      std::vector<fs::path> candidates;
      if (fs::path(value).is_absolute())
        candidates = {value};
      else
        candidates = {job_dir / value, root / value};
      auto found = std::find_if(candidates.begin(), candidates.end(),
                                [](const fs::path& c) { return fs::is_regular_file(c); });
      if (found == candidates.end()) {
        std::string looked;
        for (const auto& c : candidates) looked += (looked.empty() ? "" : ", ") + c.string();
        throw InputError(fmt::format("{}: {}.{}: no such file '{}' (looked at {})", run.run_dir,
                                     run.spec.name, p.name, value, looked));
      }
      value = fs::absolute(*found).lexically_normal().string();
    }
  }
}

std::vector<PlannedRun> make_plan(const Job& job, const PlanFilters& f,
                                  const WorkloadLoader& load) {
  std::vector<std::string> arches = f.arches.empty() ? job.arches : f.arches;
  for (const auto& a : arches)
    if (!find_arch(a))
      throw InputError(fmt::format("--arch {}: unknown arch (known: {})", a, known_arch_names()));
  for (const auto& w : f.workloads) {
    bool found = std::any_of(job.workloads.begin(), job.workloads.end(),
                             [&](const WorkloadRef& r) { return r.id == w || r.workload == w; });
    if (!found)
      throw InputError(
          fmt::format("--workload {}: the job {} runs no such workload", w, job.origin));
  }
  for (const auto& k : f.kernels) {
    bool found = std::any_of(job.kernels.begin(), job.kernels.end(),
                             [&](const KernelSpec& s) { return s.name == k; });
    if (!found)
      throw InputError(fmt::format("--kernel {}: the job {} has no such kernel", k, job.origin));
  }
  std::vector<Set> sets;
  for (const auto& s : f.sets) {
    sets.push_back(parse_set(s));
    bool found = std::any_of(job.workloads.begin(), job.workloads.end(), [&](const WorkloadRef& r) {
      return r.id == sets.back().workload || r.workload == sets.back().workload;
    });
    if (!found)
      throw InputError(
          fmt::format("--set {}: the job runs no workload '{}'", s, sets.back().workload));
  }

  std::map<std::string, WorkloadSpec> specs;
  auto cached_load = [&](const std::string& name) -> const WorkloadSpec& {
    if (!specs.count(name)) specs.emplace(name, load(name));
    return specs.at(name);
  };
  auto workload_config = [&](const std::string& arch) {
    return job_workload_config(
        job, [&](const std::string& name) { return cached_load(name); }, arch);
  };
  std::vector<PlannedRun> plan;
  for (const auto& kernel : job.kernels) {
    if (!wanted(f.kernels, kernel.name)) continue;
    for (const auto& arch_name : arches) {
      for (const auto& ref : job.workloads) {
        if (!selected(job, f.workloads, ref)) continue;
        const WorkloadSpec& spec = cached_load(ref.workload);
        std::map<std::string, std::string> overrides;
        for (const auto& s : sets)
          if (selects(job, s.workload, ref)) overrides[s.param] = s.value;
        auto params = resolve_params(spec, ref.params, overrides, job.origin);
        for (int r = 0; r < job.repeats; ++r) {
          PlannedRun run;
          run.kernel = &kernel;
          run.arch = find_arch(arch_name);
          run.ref = &ref;
          run.spec = spec;
          run.params = params;
          run.workload_config = workload_config(arch_name);
          auto it = kernel.expect.find(ref.id);
          run.assertions = it != kernel.expect.end() ? it->second : spec.assertions;
          run.repeat = r;
          run.run_dir = fmt::format("{}/{}/{}", kernel.name, arch_name, ref.id);
          if (job.repeats > 1) run.run_dir += fmt::format("/r{}", r + 1);
          plan.push_back(std::move(run));
        }
      }
    }
  }
  return plan;
}

}  // namespace kh
