#include "core/job.h"

#include <fmt/format.h>

#include <set>

#include "core/arch.h"
#include "core/yaml_util.h"
#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

// Names end up in folder names and JUnit classnames. (A loop, not
// std::regex: libstdc++'s matcher recurses once per character.)
void check_name(const std::string& origin, const YAML::Node& node, const std::string& name,
                const std::string& what) {
  constexpr std::size_t kMaxName = 100;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && alnum(name.front());
  for (char c : name) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '+' || c == '-');
  if (!ok)
    yaml::fail(origin, node,
               fmt::format("{} '{}' must start with a letter or digit and use only letters, "
                           "digits, '.', '_', '+', '-'",
                           what, name.substr(0, kMaxName)));
  if (name.size() > kMaxName)
    yaml::fail(
        origin, node,
        fmt::format("{} '{}...' is longer than {} characters", what, name.substr(0, 20), kMaxName));
}

SourceSpec parse_source(const std::string& o, const YAML::Node& n) {
  yaml::expect_map(o, n, "source (tarball: PATH, or git: PATH with ref: REF)");
  yaml::check_keys(o, n, {"tarball", "git", "ref"});
  SourceSpec s;
  if (n["tarball"] && n["git"]) yaml::fail(o, n, "source takes either tarball: or git:, not both");
  if (n["tarball"]) {
    s.kind = SourceSpec::Kind::tarball;
    s.path = yaml::scalar(o, n["tarball"], "source.tarball");
    s.path_where = yaml::where(o, n["tarball"]);
    if (s.path.empty()) yaml::fail(o, n["tarball"], "tarball: needs a path");
    if (n["ref"]) yaml::fail(o, n["ref"], "ref: only goes with a git: source");
  } else if (n["git"]) {
    s.kind = SourceSpec::Kind::git;
    s.path = yaml::scalar(o, n["git"], "source.git");
    s.path_where = yaml::where(o, n["git"]);
    if (s.path.empty()) yaml::fail(o, n["git"], "git: needs a folder or a URL");
    if (!n["ref"]) yaml::fail(o, n, "a git: source needs ref: (a branch, tag or commit)");
    s.ref = yaml::scalar(o, n["ref"], "source.ref");
    s.ref_where = yaml::where(o, n["ref"]);
    // Refs reach git's command line: one that starts with '-' would be an option.
    if (s.ref.empty() || s.ref.front() == '-' || s.ref.find_first_of(" \t\n") != std::string::npos)
      yaml::fail(o, n["ref"], fmt::format("ref '{}' is not a branch, tag or commit", s.ref));
  } else {
    yaml::fail(o, n, "source needs tarball: PATH or git: PATH");
  }
  return s;
}

KernelSpec parse_kernel(const std::string& o, const YAML::Node& n) {
  yaml::expect_map(o, n, "a kernel");
  yaml::check_keys(o, n,
                   {"name", "source", "series", "fragments", "cmdline", "expect", "tolerate"});
  KernelSpec k;
  if (!n["name"]) yaml::fail(o, n, "a kernel needs name:");
  k.name = yaml::scalar(o, n["name"], "kernel name");
  check_name(o, n["name"], k.name, "kernel name");
  if (!n["source"]) yaml::fail(o, n, fmt::format("kernel '{}' needs source:", k.name));
  k.source = parse_source(o, n["source"]);
  if (n["series"]) k.series = yaml::scalar(o, n["series"], "series");
  if (n["fragments"]) k.fragments = yaml::string_list(o, n["fragments"], "fragments");
  if (n["cmdline"]) k.cmdline = yaml::scalar(o, n["cmdline"], "cmdline");
  if (n["tolerate"])
    k.tolerate = yaml::string_list(o, n["tolerate"], "tolerate (console report titles)");
  if (n["expect"]) {
    yaml::expect_map(o, n["expect"], "expect (workload id: [assertions])");
    for (const auto& kv : n["expect"])
      k.expect[kv.first.as<std::string>()] = yaml::string_list(o, kv.second, "expected assertions");
  }
  return k;
}

WorkloadRef parse_workload_ref(const std::string& o, const YAML::Node& n) {
  WorkloadRef w;
  if (n.IsScalar()) {
    w.workload = w.id = n.as<std::string>();
    check_name(o, n, w.id, "workload");
    return w;
  }
  yaml::expect_map(o, n,
                   "a workload (a name, or workload: NAME with id:, params:, cmdline:, lru_gen:)");
  yaml::check_keys(o, n, {"workload", "id", "params", "cmdline", "lru_gen"});
  if (!n["workload"]) yaml::fail(o, n, "a workload entry needs workload: NAME");
  w.workload = yaml::scalar(o, n["workload"], "workload");
  check_name(o, n["workload"], w.workload, "workload");
  w.id = n["id"] ? yaml::scalar(o, n["id"], "workload id") : w.workload;
  if (n["id"]) check_name(o, n["id"], w.id, "workload id");
  if (n["cmdline"]) w.cmdline = yaml::scalar(o, n["cmdline"], "cmdline");
  if (n["lru_gen"]) {
    // YAML 1.1 readers take a bare on/off for a boolean; yaml-cpp gives the
    // scalar as written, and only these two words mean anything here.
    w.lru_gen = yaml::scalar(o, n["lru_gen"], "lru_gen");
    if (w.lru_gen != "on" && w.lru_gen != "off")
      yaml::fail(o, n["lru_gen"], "lru_gen: expected on or off, got '" + w.lru_gen + "'");
  }
  if (n["params"]) {
    yaml::expect_map(o, n["params"], "params (name: value)");
    for (const auto& kv : n["params"])
      w.params[kv.first.as<std::string>()] = yaml::scalar(o, kv.second, "a parameter value");
  }
  return w;
}

}  // namespace

Job parse_job(const std::string& text, const std::string& origin,
              const std::filesystem::path& base_dir) {
  const std::string& o = origin;
  YAML::Node root = yaml::load(text, o);
  yaml::expect_map(o, root, "the job");
  yaml::check_keys(o, root,
                   {"name", "kernels", "arches", "workloads", "repeats", "timeouts", "output",
                    "history", "backend", "uri", "hosts"});
  Job job;
  job.origin = origin;
  job.text = text;
  job.base_dir = base_dir;
  if (!root["name"]) yaml::fail(o, root, "a job needs name:");
  job.name = yaml::scalar(o, root["name"], "job name");
  check_name(o, root["name"], job.name, "job name");

  if (!root["kernels"] || !root["kernels"].IsSequence() || root["kernels"].size() == 0)
    yaml::fail(o, root["kernels"] ? root["kernels"] : root,
               "a job needs kernels: as a non-empty list");
  std::set<std::string> names;
  for (const auto& k : root["kernels"]) {
    job.kernels.push_back(parse_kernel(o, k));
    if (!names.insert(job.kernels.back().name).second)
      yaml::fail(o, k["name"], fmt::format("duplicate kernel name '{}'", job.kernels.back().name));
  }

  if (root["arches"]) {
    job.arches = yaml::string_list(o, root["arches"], "arches");
    const auto& seq = root["arches"];
    for (std::size_t i = 0; i < job.arches.size(); ++i) {
      if (!find_arch(job.arches[i]))
        yaml::fail(o, seq.IsSequence() ? seq[i] : seq,
                   fmt::format("unknown arch '{}' (known: {})", job.arches[i], known_arch_names()));
    }
  } else {
    job.arches = {std::string(host_arch())};
  }

  if (!root["workloads"] || !root["workloads"].IsSequence() || root["workloads"].size() == 0)
    yaml::fail(o, root["workloads"] ? root["workloads"] : root,
               "a job needs workloads: as a non-empty list");
  std::set<std::string> ids;
  for (const auto& w : root["workloads"]) {
    job.workloads.push_back(parse_workload_ref(o, w));
    if (!ids.insert(job.workloads.back().id).second)
      yaml::fail(o, w,
                 fmt::format("duplicate workload id '{}' (give one of them id: NAME)",
                             job.workloads.back().id));
  }
  for (const auto& k : job.kernels)
    for (const auto& [id, _] : k.expect)
      if (!ids.count(id))
        yaml::fail(o, root["kernels"],
                   fmt::format("kernel '{}' expects results for workload '{}', "
                               "which the job does not run",
                               k.name, id));

  if (root["repeats"]) job.repeats = yaml::integer(o, root["repeats"], "repeats", 1, 1000);
  if (root["timeouts"]) {
    const auto& t = root["timeouts"];
    yaml::expect_map(o, t, "timeouts (build:, boot:, workload: in seconds)");
    yaml::check_keys(o, t, {"build", "boot", "workload"});
    if (t["build"])
      job.timeouts.build =
          std::chrono::seconds(yaml::integer(o, t["build"], "timeouts.build", 1, 86400));
    if (t["boot"])
      job.timeouts.boot =
          std::chrono::seconds(yaml::integer(o, t["boot"], "timeouts.boot", 1, 3600));
    if (t["workload"])
      job.timeouts.workload =
          std::chrono::seconds(yaml::integer(o, t["workload"], "timeouts.workload", 1, 86400));
  }
  job.output = root["output"] ? std::filesystem::path(yaml::scalar(o, root["output"], "output"))
                              : std::filesystem::path("results");
  if (root["history"]) job.history = yaml::scalar(o, root["history"], "history");
  if (root["backend"]) {
    job.backend = yaml::scalar(o, root["backend"], "backend");
    if (job.backend != "qemu" && job.backend != "libvirt")
      yaml::fail(o, root["backend"],
                 fmt::format("backend '{}': expected qemu or libvirt", job.backend));
  }
  if (root["uri"]) job.uri = yaml::scalar(o, root["uri"], "uri (a libvirt URI)");
  if (root["hosts"]) {
    const auto& hs = root["hosts"];
    if (!hs.IsSequence() || hs.size() == 0)
      yaml::fail(o, hs, "hosts: should be a non-empty list of libvirt URIs or {uri:, slots:}");
    if (job.backend == "qemu")
      yaml::fail(o, root["backend"], "hosts: are libvirt hosts; backend: qemu cannot use them");
    if (root["uri"]) yaml::fail(o, root["uri"], "give either uri: or hosts:, not both");
    std::set<std::string> uris;
    for (const auto& h : hs) {
      HostSpec spec;
      if (h.IsScalar()) {
        spec.uri = yaml::scalar(o, h, "host URI");
      } else {
        yaml::expect_map(o, h, "a host (uri:, slots:, arches:, pool_dir:)");
        yaml::check_keys(o, h, {"uri", "slots", "arches", "pool_dir"});
        if (!h["uri"]) yaml::fail(o, h, "a host needs uri:");
        spec.uri = yaml::scalar(o, h["uri"], "host uri");
        if (h["slots"]) spec.slots = yaml::integer(o, h["slots"], "slots", 1, 256);
        if (h["arches"]) {
          spec.arches = yaml::string_list(o, h["arches"], "arches");
          for (const auto& a : spec.arches)
            if (!find_arch(a))
              yaml::fail(o, h["arches"],
                         fmt::format("unknown arch '{}' (known: {})", a, known_arch_names()));
        }
        if (h["pool_dir"]) spec.pool_dir = yaml::scalar(o, h["pool_dir"], "pool_dir");
      }
      if (!uris.insert(spec.uri).second)
        yaml::fail(o, h,
                   fmt::format("host '{}' is listed twice (give it slots: instead)", spec.uri));
      job.hosts.push_back(std::move(spec));
    }
    job.backend = "libvirt";
  }
  return job;
}

Job load_job_file(const std::filesystem::path& path) {
  std::string text;
  if (!yaml::read_file_if_exists(path, text))
    throw InputError(fmt::format("{}: cannot read job file", path.string()));
  return parse_job(text, path.string(), std::filesystem::absolute(path).parent_path());
}

}  // namespace kh
