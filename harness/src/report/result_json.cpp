#include "report/result_json.h"

#include <cmath>

#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

using nlohmann::json;

constexpr int kSchema = 1;

// Reading: every field is optional (an older writer may lack one), but a
// field that is there must have the right type.
class Reader {
 public:
  Reader(const json& j, const std::string& source) : j_(j), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const { throw InputError(source_ + ": " + what); }

  const json* field(const json& obj, const char* key, json::value_t type,
                    const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    bool ok = it->type() == type || (type == json::value_t::number_float && it->is_number());
    if (!ok)
      fail("'" + where + key + "' should be " + type_name(type) + ", not " + it->type_name());
    return &*it;
  }

  void get(const json& obj, const char* key, std::string& out,
           const std::string& where = "") const {
    if (const json* v = field(obj, key, json::value_t::string, where)) out = v->get<std::string>();
  }
  void get(const json& obj, const char* key, double& out, const std::string& where = "") const {
    if (const json* v = field(obj, key, json::value_t::number_float, where)) out = v->get<double>();
  }
  void get(const json& obj, const char* key, int& out, const std::string& where = "") const {
    if (const json* v = field(obj, key, json::value_t::number_float, where)) out = v->get<int>();
  }
  void get(const json& obj, const char* key, bool& out, const std::string& where = "") const {
    if (const json* v = field(obj, key, json::value_t::boolean, where)) out = v->get<bool>();
  }
  void get(const json& obj, const char* key, std::map<std::string, double>& out) const {
    if (const json* v = field(obj, key, json::value_t::object, "")) {
      for (const auto& [k, value] : v->items()) {
        if (value.is_null()) continue;  // a NaN written by another tool
        if (!value.is_number()) fail(std::string("'") + key + "." + k + "' should be a number");
        out[k] = value.get<double>();
      }
    }
  }
  void get(const json& obj, const char* key, std::map<std::string, std::string>& out) const {
    if (const json* v = field(obj, key, json::value_t::object, "")) {
      for (const auto& [k, value] : v->items()) {
        if (!value.is_string()) fail(std::string("'") + key + "." + k + "' should be a string");
        out[k] = value.get<std::string>();
      }
    }
  }
  const json* array(const char* key) const { return field(j_, key, json::value_t::array, ""); }
  const json* object(const char* key) const { return field(j_, key, json::value_t::object, ""); }

 private:
  static std::string type_name(json::value_t t) {
    switch (t) {
      case json::value_t::string:
        return "a string";
      case json::value_t::number_float:
        return "a number";
      case json::value_t::boolean:
        return "a boolean";
      case json::value_t::object:
        return "an object";
      case json::value_t::array:
        return "an array";
      default:
        return "something else";
    }
  }

  const json& j_;
  const std::string& source_;
};

RunResult parse(const json& j, const std::string& source) {
  Reader rd(j, source);
  if (!j.is_object()) rd.fail("expected a JSON object, got " + std::string(j.type_name()));
  int schema = 0;
  rd.get(j, "schema", schema);
  if (schema != kSchema)
    rd.fail("schema " + std::to_string(schema) + " is not " + std::to_string(kSchema) +
            " (written by another kharness version?)");

  RunResult r;
  std::string outcome;
  rd.get(j, "outcome", outcome);
  auto o = outcome_from_string(outcome);
  if (!o) rd.fail("'outcome' should be pass, fail, infra or skip, not '" + outcome + "'");
  r.outcome = *o;

  if (const json* k = rd.object("kernel")) {
    rd.get(*k, "name", r.kernel.name, "kernel.");
    rd.get(*k, "release", r.kernel.release, "kernel.");
    rd.get(*k, "artifact_key", r.kernel.artifact_key, "kernel.");
    rd.get(*k, "series", r.kernel.series, "kernel.");
    rd.get(*k, "source", r.kernel.source, "kernel.");
    rd.get(*k, "source_id", r.kernel.source_id, "kernel.");
    rd.get(*k, "commit", r.kernel.commit, "kernel.");
    rd.get(*k, "series_hash", r.kernel.series_hash, "kernel.");
    rd.get(*k, "config_hash", r.kernel.config_hash, "kernel.");
    if (const json* ps = rd.field(*k, "patches", json::value_t::array, "kernel.")) {
      for (const json& p : *ps) {
        if (!p.is_string()) rd.fail("'kernel.patches' entries should be strings");
        r.kernel.patches.push_back(p.get<std::string>());
      }
    }
    if (const json* na = rd.field(*k, "config_not_applicable", json::value_t::array, "kernel.")) {
      for (const json& s : *na) {
        if (!s.is_string()) rd.fail("'kernel.config_not_applicable' entries should be strings");
        r.kernel.config_not_applicable.push_back(s.get<std::string>());
      }
    }
  }
  rd.get(j, "arch", r.arch);
  rd.get(j, "workload", r.workload);
  rd.get(j, "key_metric", r.key_metric);
  rd.get(j, "workload_name", r.workload_name);
  rd.get(j, "repeat", r.repeat);
  rd.get(j, "started", r.started);
  rd.get(j, "params", r.params);
  rd.get(j, "reason", r.reason);
  rd.get(j, "accel", r.accel);
  rd.get(j, "accel_note", r.accel_note);
  rd.get(j, "timings", r.timings);
  rd.get(j, "metrics", r.metrics);
  rd.get(j, "missing_metrics", r.missing_metrics);
  rd.get(j, "run_dir", r.run_dir);
  rd.get(j, "host", r.host);
  if (const json* as = rd.array("infra_attempts"))
    for (const json& a : *as)
      if (a.is_string()) r.infra_attempts.push_back(a.get<std::string>());

  if (const json* as = rd.array("assertions")) {
    for (const json& a : *as) {
      if (!a.is_object()) rd.fail("'assertions' entries should be objects");
      AssertionResult ar;
      rd.get(a, "expression", ar.expression, "assertions[].");
      rd.get(a, "value", ar.value, "assertions[].");
      rd.get(a, "passed", ar.passed, "assertions[].");
      rd.get(a, "error", ar.error, "assertions[].");
      rd.get(a, "left", ar.left, "assertions[].");
      rd.get(a, "left_value", ar.left_value, "assertions[].");
      rd.get(a, "missing", ar.missing, "assertions[].");
      rd.get(a, "detail", ar.detail, "assertions[].");
      r.assertions.push_back(std::move(ar));
    }
  }
  if (const json* cs = rd.array("cases")) {
    for (const auto& c : *cs) {
      if (!c.is_object()) rd.fail("'cases' entries should be objects");
      TestCase t;
      rd.get(c, "program", t.program, "cases[].");
      rd.get(c, "name", t.name, "cases[].");
      rd.get(c, "status", t.status, "cases[].");
      rd.get(c, "reason", t.reason, "cases[].");
      r.cases.push_back(std::move(t));
    }
  }
  if (const json* cs = rd.array("console")) {
    for (const json& c : *cs) {
      if (!c.is_object()) rd.fail("'console' entries should be objects");
      ConsoleFinding f;
      double line = 0;
      rd.get(c, "kind", f.kind, "console[].");
      rd.get(c, "title", f.title, "console[].");
      rd.get(c, "line", line, "console[].");
      rd.get(c, "corrupted", f.corrupted, "console[].");
      if (c.contains("tolerated")) rd.get(c, "tolerated", f.tolerated, "console[].");
      if (c.contains("excerpt")) rd.get(c, "excerpt", f.excerpt, "console[].");
      f.line = line > 0 ? static_cast<std::size_t>(line) : 0;
      r.console.push_back(std::move(f));
    }
  }
  return r;
}

}  // namespace

json numbers_json(const std::map<std::string, double>& m) {
  json out = json::object();
  for (const auto& [k, v] : m)
    if (std::isfinite(v)) out[k] = v;
  return out;
}

json assertions_json(const std::vector<AssertionResult>& list) {
  json out = json::array();
  for (const auto& a : list) {
    json item = {{"expression", a.expression},
                 {"value", std::isfinite(a.value) ? json(a.value) : json()},
                 {"passed", a.passed},
                 {"error", a.error}};
    if (!a.left.empty()) {
      item["left"] = a.left;
      item["left_value"] = std::isfinite(a.left_value) ? json(a.left_value) : json();
    }
    if (!a.missing.empty()) item["missing"] = a.missing;
    if (!a.detail.empty()) item["detail"] = a.detail;
    out.push_back(std::move(item));
  }
  return out;
}

nlohmann::json to_json(const RunResult& r) {
  json j;
  j["schema"] = kSchema;
  j["kernel"] = {{"name", r.kernel.name},
                 {"release", r.kernel.release},
                 {"artifact_key", r.kernel.artifact_key},
                 {"series", r.kernel.series},
                 {"source", r.kernel.source},
                 {"source_id", r.kernel.source_id},
                 {"commit", r.kernel.commit},
                 {"series_hash", r.kernel.series_hash},
                 {"config_hash", r.kernel.config_hash},
                 {"patches", r.kernel.patches},
                 {"config_not_applicable", r.kernel.config_not_applicable}};
  j["arch"] = r.arch;
  j["workload"] = r.workload;
  if (!r.key_metric.empty()) j["key_metric"] = r.key_metric;
  j["workload_name"] = r.workload_name;
  j["repeat"] = r.repeat;
  j["started"] = r.started;
  j["params"] = r.params;
  j["outcome"] = std::string(to_string(r.outcome));
  j["reason"] = r.reason;
  j["accel"] = r.accel;
  j["accel_note"] = r.accel_note;
  j["timings"] = numbers_json(r.timings);
  j["metrics"] = numbers_json(r.metrics);
  j["missing_metrics"] = r.missing_metrics;
  j["assertions"] = assertions_json(r.assertions);
  json console = json::array();
  for (const auto& f : r.console)
    console.push_back({{"kind", f.kind},
                       {"title", f.title},
                       {"line", f.line},
                       {"corrupted", f.corrupted},
                       {"tolerated", f.tolerated},
                       {"excerpt", f.excerpt}});
  j["console"] = std::move(console);
  if (!r.cases.empty()) {
    json cases = json::array();
    for (const auto& c : r.cases)
      cases.push_back(
          {{"program", c.program}, {"name", c.name}, {"status", c.status}, {"reason", c.reason}});
    j["cases"] = std::move(cases);
  }
  j["run_dir"] = r.run_dir;
  if (!r.host.empty()) j["host"] = r.host;
  if (!r.infra_attempts.empty()) j["infra_attempts"] = r.infra_attempts;
  return j;
}

RunResult result_from_json(const nlohmann::json& j) {
  return parse(j, "result.json");
}

RunResult result_from_json(const nlohmann::json& j, const std::string& source) {
  return parse(j, source);
}

void write_result_json(const std::filesystem::path& path, const RunResult& r) {
  write_file(path, to_json(r).dump(2) + "\n");
}

RunResult read_result_json(const std::filesystem::path& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const InfraError& e) {
    throw InputError(path.string() + ": cannot read: " + e.what());
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {  // its message says where
    throw InputError(path.string() + ": not valid JSON: " + e.what());
  }
  return parse(j, path.string());
}

}  // namespace kh
