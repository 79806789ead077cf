#include "core/workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "core/arch.h"
#include "core/yaml_util.h"
#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

ParamSpec parse_param(const std::string& o, const std::string& name, const YAML::Node& n) {
  ParamSpec p;
  p.name = name;
  if (n.IsScalar()) {
    p.default_value = n.as<std::string>();
    p.numeric = is_number(p.default_value);
    return p;
  }
  yaml::expect_map(o, n, "a parameter (default:, choices:, file:, doc:)");
  yaml::check_keys(o, n, {"default", "choices", "file", "doc"});
  if (!n["default"]) yaml::fail(o, n, fmt::format("parameter '{}' needs default:", name));
  p.default_value = yaml::scalar(o, n["default"], "default");
  p.numeric = is_number(p.default_value);
  if (n["choices"]) {
    p.choices = yaml::string_list(o, n["choices"], "choices");
    p.numeric = false;
    if (std::find(p.choices.begin(), p.choices.end(), p.default_value) == p.choices.end())
      yaml::fail(o, n["default"],
                 fmt::format("default '{}' is not one of the choices", p.default_value));
  }
  if (n["file"]) {
    p.file = yaml::scalar(o, n["file"], "file") == "true";
    p.numeric = false;
  }
  if (n["doc"]) p.doc = yaml::scalar(o, n["doc"], "doc");
  return p;
}

}  // namespace

WorkloadSpec parse_workload(const std::string& text, const std::string& origin,
                            const std::filesystem::path& dir) {
  const std::string& o = origin;
  YAML::Node root = yaml::load(text, o);
  yaml::expect_map(o, root, "the workload");
  yaml::check_keys(o, root,
                   {"name", "description", "params", "machine", "cmdline", "config", "metrics",
                    "assertions", "limits", "key_metric", "selftests", "invariants"});
  WorkloadSpec w;
  w.dir = dir;
  if (!root["name"]) yaml::fail(o, root, "a workload needs name:");
  w.name = yaml::scalar(o, root["name"], "name");
  if (root["description"]) w.description = yaml::scalar(o, root["description"], "description");
  if (root["params"]) {
    yaml::expect_map(o, root["params"], "params");
    for (const auto& kv : root["params"])
      w.params.push_back(parse_param(o, kv.first.as<std::string>(), kv.second));
  }
  if (root["machine"]) {
    const auto& m = root["machine"];
    yaml::expect_map(o, m, "machine (cpus:, memory_mb:, disk_mb:, numa_nodes:)");
    yaml::check_keys(o, m, {"cpus", "memory_mb", "disk_mb", "numa_nodes"});
    if (m["cpus"]) w.machine.cpus = yaml::integer(o, m["cpus"], "machine.cpus", 1, 64);
    if (m["memory_mb"])
      w.machine.memory_mb = yaml::integer(o, m["memory_mb"], "machine.memory_mb", 64, 65536);
    if (m["disk_mb"])
      w.machine.disk_mb = yaml::integer(o, m["disk_mb"], "machine.disk_mb", 0, 65536);
    if (m["numa_nodes"])
      w.machine.numa_nodes = yaml::integer(o, m["numa_nodes"], "machine.numa_nodes", 0, 8);
    if (w.machine.numa_nodes > 1 && w.machine.cpus % w.machine.numa_nodes != 0)
      yaml::fail(o, m,
                 fmt::format("machine: {} cpus do not split evenly over {} NUMA nodes",
                             w.machine.cpus, w.machine.numa_nodes));
    if (w.machine.numa_nodes > 1 && w.machine.memory_mb % w.machine.numa_nodes != 0)
      yaml::fail(o, m,
                 fmt::format("machine: {} MB does not split evenly over {} NUMA nodes",
                             w.machine.memory_mb, w.machine.numa_nodes));
  }
  if (root["cmdline"]) w.cmdline = yaml::scalar(o, root["cmdline"], "cmdline");
  if (root["config"]) {
    // Checked here, not at build time: a typo should fail before any make.
    const auto& c = root["config"];
    if (!c.IsSequence())
      yaml::fail(o, c, "expected config: as a list of files, or {file: F, arch: A} for one arch");
    for (const auto& item : c) {
      std::string name, arch;
      if (item.IsMap()) {
        yaml::check_keys(o, item, {"file", "arch"});
        if (!item["file"] || !item["arch"]) yaml::fail(o, item, "expected {file: F, arch: A}");
        name = yaml::scalar(o, item["file"], "file");
        arch = yaml::scalar(o, item["arch"], "arch");
        if (!find_arch(arch))
          yaml::fail(o, item["arch"],
                     fmt::format("unknown arch '{}' (known: {})", arch, known_arch_names()));
      } else {
        name = yaml::scalar(o, item, "a fragment file");
      }
      std::filesystem::path path = (dir / name).lexically_normal();
      if (name.empty() || name.find("..") != std::string::npos || name.front() == '/')
        yaml::fail(o, item,
                   fmt::format("config: '{}' must be a file in the workload's folder", name));
      if (!std::filesystem::is_regular_file(path))
        yaml::fail(o, item, fmt::format("config: {}: no such file", path.string()));
      (arch.empty() ? w.config : w.arch_config[arch]).push_back(std::filesystem::absolute(path));
    }
  }
  if (root["metrics"]) {
    // A sequence of single-key maps keeps the order explicit in YAML.
    const auto& m = root["metrics"];
    if (!m.IsSequence()) yaml::fail(o, m, "expected metrics: as a list of '- name: expression'");
    for (const auto& item : m) {
      if (!item.IsMap() || item.size() != 1) yaml::fail(o, item, "expected '- name: expression'");
      auto kv = *item.begin();
      w.metrics.emplace_back(kv.first.as<std::string>(),
                             yaml::scalar(o, kv.second, "an expression"));
    }
  }
  if (root["assertions"]) w.assertions = yaml::string_list(o, root["assertions"], "assertions");
  if (root["limits"]) {
    const auto& l = root["limits"];
    if (!l.IsSequence()) yaml::fail(o, l, "expected limits: as a list of {check: EXPR, why: TEXT}");
    for (const auto& item : l) {
      if (!item.IsMap()) yaml::fail(o, item, "expected {check: EXPR, why: TEXT}");
      yaml::check_keys(o, item, {"check", "why", "when"});
      if (!item["check"] || !item["why"]) yaml::fail(o, item, "a limit needs check: and why:");
      Limit limit{yaml::scalar(o, item["check"], "check"), yaml::scalar(o, item["why"], "why"),
                  yaml::where(o, item), {}};
      if (const auto& when = item["when"]) {
        yaml::expect_map(o, when, "when: (parameter: value)");
        for (const auto& kv : when) {
          std::string name = kv.first.as<std::string>();
          if (std::none_of(w.params.begin(), w.params.end(),
                           [&](const ParamSpec& p) { return p.name == name; }))
            yaml::fail(o, kv.first, fmt::format("when: '{}' is not a parameter", name));
          limit.when[name] = yaml::scalar(o, kv.second, "a value");
        }
      }
      w.limits.push_back(std::move(limit));
    }
  }
  if (root["key_metric"]) w.key_metric = yaml::scalar(o, root["key_metric"], "key_metric");
  if (root["selftests"]) {
    w.selftests = yaml::scalar(o, root["selftests"], "selftests");
    if (w.selftests.empty() || w.selftests.find_first_of("/. ") != std::string::npos)
      yaml::fail(o, root["selftests"],
                 "selftests: a folder name under tools/testing/selftests (e.g. cgroup)");
  }
  if (root["invariants"]) {
    const auto& n = root["invariants"];
    yaml::expect_map(o, n, "invariants ({check: false, reason: ...})");
    yaml::check_keys(o, n, {"check", "reason"});
    const std::string check = n["check"] ? yaml::scalar(o, n["check"], "invariants.check") : "true";
    if (check != "true" && check != "false")
      yaml::fail(o, n["check"], "invariants.check: expected true or false");
    const std::string reason = n["reason"] ? yaml::scalar(o, n["reason"], "invariants.reason") : "";
    if (check == "false" && reason.empty())
      yaml::fail(o, n, "invariants: check: false needs a reason: (why they cannot hold here)");
    if (check == "false") w.invariants_off = reason;
  }
  return w;
}

WorkloadSpec load_workload(const std::filesystem::path& workloads_root, const std::string& name) {
  std::filesystem::path dir = workloads_root / name;
  std::filesystem::path file = dir / "workload.yaml";
  std::string text;
  if (!yaml::read_file_if_exists(file, text)) {
    std::string known;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(workloads_root, ec))
      if (std::filesystem::exists(e.path() / "workload.yaml"))
        known += (known.empty() ? "" : ", ") + e.path().filename().string();
    throw InputError(fmt::format("workload '{}': no {} (known workloads: {})", name, file.string(),
                                 known.empty() ? "none" : known));
  }
  return parse_workload(text, file.string(), dir);
}

std::map<std::string, std::string> resolve_params(
    const WorkloadSpec& spec, const std::map<std::string, std::string>& job_params,
    const std::map<std::string, std::string>& overrides, const std::string& where) {
  std::map<std::string, std::string> out;
  for (const auto& p : spec.params) out[p.name] = p.default_value;
  auto apply = [&](const std::map<std::string, std::string>& layer, const char* from) {
    for (const auto& [k, v] : layer) {
      auto it = std::find_if(spec.params.begin(), spec.params.end(),
                             [&](const ParamSpec& p) { return p.name == k; });
      if (it == spec.params.end()) {
        std::string known;
        for (const auto& p : spec.params) known += (known.empty() ? "" : ", ") + p.name;
        throw InputError(fmt::format("{}: workload '{}' has no parameter '{}' ({}; known: {})",
                                     where, spec.name, k, from, known));
      }
      if (!it->choices.empty() &&
          std::find(it->choices.begin(), it->choices.end(), v) == it->choices.end()) {
        std::string list;
        for (const auto& c : it->choices) list += (list.empty() ? "" : "|") + c;
        throw InputError(fmt::format("{}: {}.{} must be one of {}, got '{}' ({})", where, spec.name,
                                     k, list, v, from));
      }
      if (it->numeric && !is_number(v))
        throw InputError(
            fmt::format("{}: {}.{} must be a number, got '{}' ({})", where, spec.name, k, v, from));
      out[k] = v;
    }
  };
  apply(job_params, "from the job");
  apply(overrides, "from --set");
  return out;
}

}  // namespace kh
