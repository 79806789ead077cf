#include "analysis/records.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "util/text.h"

namespace kh {
namespace {

using nlohmann::json;

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> number_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

void copy_object(const json& j, const char* key, std::map<std::string, double>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return;
  for (const auto& [name, value] : it->items())
    if (value.is_number()) out[name] = value.get<double>();
}

void copy_object(const json& j, const char* key, std::map<std::string, std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return;
  for (const auto& [name, value] : it->items())
    if (value.is_string()) out[name] = value.get<std::string>();
}

// Throws json's errors on a field of an unexpected shape.
void add_record(const AgentRecord& record, AgentRecords& out) {
  const json& j = record.fields;
  const std::string& type = record.type;
  if (type == "ready") {
    out.ready = true;
    out.release = string_field(j, "release");
    out.ready_uptime = number_field(j, "uptime").value_or(0);
  } else if (type == "log") {
    out.logs.push_back(string_field(j, "message"));
  } else if (type == "snapshot") {
    Snapshot snap;
    snap.name = string_field(j, "name");
    copy_object(j, "files", snap.files);
    copy_object(j, "values", snap.values);
    copy_object(j, "meta", snap.meta);
    out.snapshots.push_back(std::move(snap));
  } else if (type == "metric") {
    std::string name = string_field(j, "name");
    if (auto v = number_field(j, "value"); v && !name.empty()) out.metrics[name] = *v;
  } else if (type == "error") {
    std::string message = string_field(j, "message");
    // Anything but "setup" is the workload's own failure: a newer agent's
    // kind must not turn a kernel problem into an infra one.
    const std::string kind = string_field(j, "kind");
    (kind == "setup"         ? out.setup_errors
     : kind == "unsupported" ? out.unsupported
     : kind == "limit"       ? out.limit_errors
                             : out.workload_errors)
        .push_back(message);
  } else if (type == "output") {
    ProgramOutput o;
    o.name = string_field(j, "name");
    o.format = string_field(j, "format");
    o.exit_status = static_cast<int>(number_field(j, "exit_status").value_or(-1));
    o.seconds = number_field(j, "seconds").value_or(0);
    o.text = string_field(j, "text");
    auto t = j.find("timed_out");
    o.timed_out = t != j.end() && t->is_boolean() && t->get<bool>();
    if (!o.name.empty()) out.outputs.push_back(std::move(o));
  } else if (type == "done") {
    out.done = true;
    out.done_ok = string_field(j, "status") == "ok";
  }
  // Unknown types come from a newer agent: ignored, not bad.
}

// ---- snapshot files ------------------------------------------------------

std::optional<double> to_number(std::string_view s) {
  s = trim(s);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Each line trimmed, blank ones skipped.
template <class F>
void for_each_trimmed_line(std::string_view text, F&& f) {
  for_each_line(text, [&](std::string_view line) {
    line = trim(line);
    if (!line.empty()) f(line);
  });
}

// "key value" per line (cgroup.stat, memory.stat, memory.events, vmstat)
// or "Key:   value kB" (meminfo): every numeric pair.
std::map<std::string, double> key_values(std::string_view text) {
  std::map<std::string, double> out;
  for_each_trimmed_line(text, [&](std::string_view line) {
    std::size_t sep = line.find_first_of(" \t");
    if (sep == std::string_view::npos) return;
    std::string_view key = line.substr(0, sep);
    if (key.ends_with(':')) key.remove_suffix(1);
    std::string_view value = trim(line.substr(sep));
    value = value.substr(0, value.find_first_of(" \t"));  // drop the "kB" unit
    if (auto v = to_number(value); v && !key.empty()) out[std::string(key)] = *v;
  });
  return out;
}

// The memory row's num_cgroups in /proc/cgroups
// ("#subsys_name hierarchy num_cgroups enabled").
std::optional<double> memory_num_cgroups(std::string_view text) {
  std::optional<double> found;
  for_each_trimmed_line(text, [&](std::string_view line) {
    if (line.front() == '#') return;
    std::vector<std::string_view> cols;
    while (!line.empty()) {
      std::size_t sep = line.find_first_of(" \t");
      cols.push_back(line.substr(0, sep));
      line = sep == std::string_view::npos ? std::string_view() : trim(line.substr(sep));
    }
    if (cols.size() >= 3 && cols[0] == "memory") found = to_number(cols[2]);
  });
  return found;
}

// memory.numa_stat: "anon_thp N0=2097152 N1=0" per line -> "anon_thp.N0", ...
// (v1's rows start "total=12": the key is "total", its own sum is left out).
std::map<std::string, double> numa_values(std::string_view text) {
  std::map<std::string, double> out;
  for_each_trimmed_line(text, [&](std::string_view line) {
    std::size_t sep = line.find_first_of(" \t");
    if (sep == std::string_view::npos) return;
    const std::string key(line.substr(0, std::min(sep, line.find('='))));
    line = trim(line.substr(sep));
    while (!line.empty()) {
      sep = line.find_first_of(" \t");
      std::string_view field = line.substr(0, sep);
      line = sep == std::string_view::npos ? std::string_view() : trim(line.substr(sep));
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      if (auto v = to_number(field.substr(eq + 1)))
        out[key + "." + std::string(field.substr(0, eq))] = *v;
    }
  });
  return out;
}

const std::string* file(const Snapshot& snap, const std::string& path) {
  auto it = snap.files.find(path);
  return it == snap.files.end() ? nullptr : &it->second;
}

std::string meta(const Snapshot& snap, const std::string& key, const std::string& fallback) {
  auto it = snap.meta.find(key);
  return it == snap.meta.end() || it->second.empty() ? fallback : it->second;
}

}  // namespace

std::string AgentRecord::text(const char* key) const {
  return string_field(fields, key);
}

std::optional<AgentRecord> parse_record(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  AgentRecord r;
  r.type = string_field(j, "type");
  r.fields = std::move(j);
  return r;
}

AgentRecords parse_records(std::string_view jsonl) {
  AgentRecords out;
  for_each_trimmed_line(jsonl, [&](std::string_view line) {
    auto record = parse_record(line);
    if (!record) {
      ++out.bad_lines;
      return;
    }
    try {
      add_record(*record, out);
    } catch (const std::exception&) {  // a field of an unexpected shape
      ++out.bad_lines;
    }
  });
  return out;
}

Metrics snapshot_metrics(const Snapshot& snap) {
  Metrics m;
  const std::string p = snap.name + ".";
  const std::string root = meta(snap, "cgroup_root", "/sys/fs/cgroup");
  const std::string parent = meta(snap, "parent", "");
  const bool v1 = meta(snap, "cgroup_version", "2") == "1";

  std::optional<double> num_cgroups;
  if (const std::string* f = file(snap, "/proc/cgroups")) {
    num_cgroups = memory_num_cgroups(*f);
    if (num_cgroups) m[p + "memory_num_cgroups"] = *num_cgroups;
  }

  if (const std::string* f = file(snap, root + "/cgroup.stat")) {
    auto kv = key_values(*f);
    for (const char* key : {"nr_descendants", "nr_dying_descendants"})
      if (auto it = kv.find(key); it != kv.end()) m[p + key] = it->second;
  } else if (auto live = snap.values.find("live_memcgs");
             num_cgroups && live != snap.values.end()) {
    // v1 has no cgroup.stat: the memory controller counts every memcg that
    // still exists, the hierarchy shows the live ones (its root included).
    m[p + "nr_dying_descendants"] = *num_cgroups - live->second;
  }

  if (const std::string* f = file(snap, "/proc/meminfo")) {
    auto kv = key_values(*f);
    for (auto [key, name] : {std::pair{"Percpu", "percpu_kb"},
                             {"Slab", "slab_kb"},
                             {"SUnreclaim", "sunreclaim_kb"},
                             {"MemFree", "memfree_kb"},
                             {"Cached", "cached_kb"},
                             {"Dirty", "dirty_kb"}})
      if (auto it = kv.find(key); it != kv.end()) m[p + name] = it->second;
  }

  if (const std::string* f = file(snap, "/proc/vmstat"))
    for (const auto& [key, value] : key_values(*f)) m[p + "vmstat." + key] = value;

  if (const std::string* f = file(snap, "/proc/sys/kernel/tainted"))
    if (auto v = to_number(*f)) m[p + "tainted"] = *v;

  if (!parent.empty()) {
    if (const std::string* f = file(snap, parent + "/memory.stat")) {
      const auto kv = key_values(*f);
      for (const auto& [key, value] : kv) m[p + "memstat." + key] = value;
      // The page cache charged to the parent and its descendants, in bytes,
      // under one name for both hierarchies: v2's memory.stat is
      // hierarchical ("file"); v1 keeps that sum in "total_cache" ("cache"
      // counts the memcg's own pages only).
      if (auto it = kv.find(v1 ? "total_cache" : "file"); it != kv.end())
        m[p + "parent_file"] = it->second;
    }
    const std::string usage = parent + (v1 ? "/memory.usage_in_bytes" : "/memory.current");
    if (const std::string* f = file(snap, usage))
      if (auto v = to_number(*f)) m[p + "memory_current"] = *v;
    if (const std::string* f = file(snap, parent + "/memory.events"))
      for (const auto& [key, value] : key_values(*f)) m[p + "memory_events." + key] = value;
    if (const std::string* f = file(snap, parent + "/cgroup.stat")) {
      auto kv = key_values(*f);
      if (auto it = kv.find("nr_dying_descendants"); it != kv.end())
        m[p + "parent_nr_dying_descendants"] = it->second;
    }
    if (const std::string* f = file(snap, parent + "/memory.numa_stat"))
      for (const auto& [key, value] : numa_values(*f)) m[p + "numa_stat." + key] = value;
    // The parent's children a workload looks into: <parent>/<child>/<file>.
    const std::string prefix = parent + "/";
    for (const auto& [path, text] : snap.files) {
      if (!path.starts_with(prefix)) continue;
      const std::string rest = path.substr(prefix.size());
      const std::size_t slash = rest.find('/');
      if (slash == std::string::npos || slash == 0 ||
          rest.find('/', slash + 1) != std::string::npos)
        continue;
      const std::string child = p + rest.substr(0, slash) + ".";
      const std::string name = rest.substr(slash + 1);
      if (name == "memory.stat") {
        for (const auto& [key, value] : key_values(text)) m[child + "memstat." + key] = value;
      } else if (name == "memory.numa_stat") {
        for (const auto& [key, value] : numa_values(text)) m[child + "numa_stat." + key] = value;
      } else if (name == "memory.current") {
        if (auto v = to_number(text)) m[child + "memory_current"] = *v;
      }
    }
  }

  for (const auto& [name, value] : snap.values) m[p + name] = value;
  return m;
}

}  // namespace kh
