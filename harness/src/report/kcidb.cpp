#include "report/kcidb.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "util/hash.h"

namespace kh {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string id(const std::string& rest) {
  return std::string(kKcidbOrigin) + ":" + rest;
}

bool is_hex(const std::string& s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string file_url(const fs::path& p) {
  return "file://" + fs::absolute(p).lexically_normal().string();
}

std::string checkout_key(const KernelIdentity& k) {
  std::string source = k.source_id.empty() ? "label:" + k.source : k.source_id;
  return Hasher()
      .feed(source)
      .feed(k.commit)
      .feed(k.series_hash)
      .feed(k.series)
      .hex()
      .substr(0, 24);
}

std::string build_key(const RunResult& r, const std::string& results_name) {
  if (!r.kernel.artifact_key.empty()) return r.kernel.artifact_key;
  // No kernel was built: one failed build per kernel × arch of this job.
  return "nobuild-" +
         Hasher().feed(results_name).feed(r.kernel.name).feed(r.arch).hex().substr(0, 24);
}

const double* metric(const RunResult& r, const std::string& name) {
  auto it = r.metrics.find(name);
  return it != r.metrics.end() && std::isfinite(it->second) ? &it->second : nullptr;
}

// The properties each object may have (v5.0: additionalProperties false).
const std::set<std::string> kCheckoutProperties = {"_timestamp",
                                                   "id",
                                                   "origin",
                                                   "tree_name",
                                                   "git_repository_url",
                                                   "git_commit_hash",
                                                   "git_commit_name",
                                                   "git_commit_tags",
                                                   "git_commit_message",
                                                   "git_repository_branch",
                                                   "git_repository_branch_tip",
                                                   "patchset_files",
                                                   "patchset_hash",
                                                   "message_id",
                                                   "comment",
                                                   "start_time",
                                                   "log_url",
                                                   "log_excerpt",
                                                   "valid",
                                                   "misc"};
const std::set<std::string> kBuildProperties = {
    "_timestamp",  "checkout_id",  "id",      "origin",      "comment",     "start_time",
    "duration",    "architecture", "command", "compiler",    "input_files", "output_files",
    "config_name", "config_url",   "log_url", "log_excerpt", "status",      "misc"};
const std::set<std::string> kTestProperties = {"_timestamp",  "build_id", "id",           "origin",
                                               "environment", "path",     "comment",      "log_url",
                                               "log_excerpt", "status",   "number",       "waived",
                                               "start_time",  "duration", "output_files", "misc"};

}  // namespace

std::string kcidb_path_part(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "_" : out;
}

std::string kcidb_status(const RunResult& r) {
  switch (r.outcome) {
    case Outcome::pass:
      return "PASS";
    case Outcome::fail:
      return "FAIL";
    case Outcome::skip:
      return "SKIP";
    case Outcome::infra:
      // Booted (the backend reported an accelerator and a boot time): the
      // test started and did not complete. Else it never ran.
      return !r.accel.empty() && r.timings.count("boot") && r.timings.at("boot") >= 0 ? "ERROR"
                                                                                      : "MISS";
  }
  return "MISS";
}

json kcidb_json(const std::string& job_name, const std::vector<RunResult>& runs,
                const fs::path& results_dir) {
  const std::string results_name = fs::absolute(results_dir).lexically_normal().filename().string();
  json checkouts = json::array(), builds = json::array(), tests = json::array();
  std::set<std::string> seen_checkouts, seen_builds;

  for (const RunResult& r : runs) {
    const KernelIdentity& k = r.kernel;
    const std::string checkout_id = id(checkout_key(k));
    if (seen_checkouts.insert(checkout_id).second) {
      json c = {{"id", checkout_id}, {"origin", kKcidbOrigin}};
      c["comment"] = fmt::format("{}: {}{}", k.name, k.source,
                                 k.series.empty() ? "" : " + series " + k.series);
      c["tree_name"] = kcidb_path_part(k.name);
      if (is_hex(k.commit, 40)) c["git_commit_hash"] = k.commit;
      json files = json::array();
      for (const auto& p : k.patches)
        files.push_back({{"name", fs::path(p).filename().string()}, {"url", file_url(p)}});
      c["patchset_files"] = std::move(files);
      c["patchset_hash"] = k.series_hash;
      // A kernel that was built had a checkout that worked; one with no
      // release never got that far (it says nothing either way).
      if (!k.release.empty()) c["valid"] = true;
      json misc = {{"job", job_name}, {"source", k.source}, {"source_id", k.source_id}};
      if (!k.series.empty()) misc["series"] = k.series;
      c["misc"] = std::move(misc);
      checkouts.push_back(std::move(c));
    }

    const std::string build_id = id(build_key(r, results_name));
    if (seen_builds.insert(build_id).second) {
      json b = {{"id", build_id}, {"checkout_id", checkout_id}, {"origin", kKcidbOrigin}};
      b["architecture"] = kcidb_path_part(r.arch);
      b["config_name"] = k.name;
      b["status"] = k.artifact_key.empty() ? "ERROR" : "PASS";
      // 0 when the kernel came from the cache: no build time to report.
      if (auto it = r.timings.find("build");
          it != r.timings.end() && std::isfinite(it->second) && it->second > 0)
        b["duration"] = it->second;
      if (!r.started.empty()) b["start_time"] = r.started;
      json misc = {{"release", k.release}, {"config_hash", k.config_hash}};
      if (k.artifact_key.empty()) misc["reason"] = r.reason;
      b["misc"] = std::move(misc);
      builds.push_back(std::move(b));
    }

    const std::string test_id = id(results_name + "/" + r.run_dir);
    const std::string path = "kharness." + kcidb_path_part(r.workload);
    const std::string status = kcidb_status(r);
    const bool executed = status != "SKIP" && status != "MISS";
    json t = {{"id", test_id}, {"build_id", build_id}, {"origin", kKcidbOrigin}};
    t["path"] = path;
    t["status"] = status;
    t["comment"] = fmt::format("{}/{}/{}{}", k.name, r.arch, r.workload,
                               r.reason.empty() ? "" : ": " + r.reason);
    if (!r.started.empty()) t["start_time"] = r.started;
    if (auto it = r.timings.find("vm_total"); it != r.timings.end() && std::isfinite(it->second))
      t["duration"] = it->second;
    if (!r.accel.empty())
      t["environment"] = {{"comment", fmt::format("QEMU {} guest, {}", r.arch, r.accel)}};
    if (!r.run_dir.empty() && r.outcome != Outcome::skip)
      t["log_url"] = file_url(results_dir / r.run_dir / "console.log");
    const double* key = r.key_metric.empty() ? nullptr : metric(r, r.key_metric);
    if (key && executed) t["number"] = {{"value", *key}};
    json misc = {{"job", job_name},    {"kernel", k.name},   {"workload", r.workload_name},
                 {"repeat", r.repeat}, {"params", r.params}, {"run_dir", r.run_dir}};
    if (!r.key_metric.empty()) misc["key_metric"] = r.key_metric;
    std::vector<std::string> titles;
    for (const auto& f : r.console)
      if (!f.tolerated) titles.push_back(f.title);
    if (!titles.empty()) misc["console_reports"] = titles;
    t["misc"] = std::move(misc);
    for (const auto& f : r.console)
      if (!f.tolerated && !f.excerpt.empty()) {
        t["log_excerpt"] = f.excerpt.substr(0, 16384);
        break;
      }
    tests.push_back(std::move(t));

    // The key metric on its own: a measurement, DONE when the run measured.
    if (key && executed)
      tests.push_back({{"id", test_id + "/" + kcidb_path_part(r.key_metric)},
                       {"build_id", build_id},
                       {"origin", kKcidbOrigin},
                       {"path", path + "." + kcidb_path_part(r.key_metric)},
                       {"status", "DONE"},
                       {"number", {{"value", *key}}},
                       {"comment", r.key_metric}});
    for (std::size_t i = 0; i < r.assertions.size(); ++i) {
      const auto& a = r.assertions[i];
      json at = {{"id", fmt::format("{}/assertion_{}", test_id, i + 1)},
                 {"build_id", build_id},
                 {"origin", kKcidbOrigin},
                 {"path", fmt::format("{}.assertion_{}", path, i + 1)},
                 {"status", !a.error.empty() ? "ERROR"
                            : a.passed       ? "PASS"
                                             : "FAIL"},
                 {"comment", a.expression}};
      double shown = a.left.empty() ? a.value : a.left_value;
      if (a.error.empty() && std::isfinite(shown)) at["number"] = {{"value", shown}};
      tests.push_back(std::move(at));
    }
    for (std::size_t i = 0; i < r.cases.size(); ++i) {
      const auto& c = r.cases[i];
      std::string s = c.status == "pass" || c.status == "xfail" ? "PASS"
                      : c.status == "fail"                      ? "FAIL"
                                                                : "SKIP";
      json ct = {{"id", fmt::format("{}/case_{}", test_id, i + 1)},
                 {"build_id", build_id},
                 {"origin", kKcidbOrigin},
                 {"path", path + "." + kcidb_path_part(c.program) + "." + kcidb_path_part(c.name)},
                 {"status", s},
                 {"comment", c.program + ": " + c.name}};
      if (!c.reason.empty()) ct["misc"] = {{"reason", c.reason}};
      tests.push_back(std::move(ct));
    }
  }
  return {{"version", {{"major", kKcidbMajor}, {"minor", kKcidbMinor}}},
          {"checkouts", std::move(checkouts)},
          {"builds", std::move(builds)},
          {"tests", std::move(tests)}};
}

std::vector<std::string> kcidb_problems(const json& j) {
  std::vector<std::string> out;
  auto bad = [&](std::string what) { out.push_back(std::move(what)); };
  if (!j.is_object()) return {"not a JSON object"};
  static const std::regex origin_re("^[a-z0-9_]+$");
  static const std::regex path_re("^([a-zA-Z0-9_-]+(\\.[a-zA-Z0-9_-]+)*)?$");
  static const std::regex arch_re("^[a-z0-9_]*$");
  static const std::set<std::string> statuses = {"FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"};

  // No null anywhere ("no properties can be null").
  std::function<void(const json&, const std::string&)> no_nulls = [&](const json& v,
                                                                      const std::string& at) {
    if (v.is_null()) bad(at + ": null");
    if (v.is_object())
      for (const auto& [k, x] : v.items()) no_nulls(x, at + "." + k);
    if (v.is_array())
      for (std::size_t i = 0; i < v.size(); ++i) no_nulls(v[i], fmt::format("{}[{}]", at, i));
  };
  no_nulls(j, "$");

  static const std::set<std::string> top = {"version", "checkouts", "builds",
                                            "tests",   "issues",    "incidents"};
  for (const auto& [k, v] : j.items())
    if (!top.count(k)) bad("unknown top-level property '" + k + "'");
  if (!j.contains("version") || !j["version"].is_object()) {
    bad("'version' is required (an object)");
  } else {
    const json& v = j["version"];
    if (!v.contains("major") || !v["major"].is_number_integer() || v["major"] != kKcidbMajor)
      bad(fmt::format("version.major must be {}", kKcidbMajor));
    if (v.contains("minor") &&
        (!v["minor"].is_number_integer() || v["minor"] < 0 || v["minor"] > kKcidbMinor))
      bad(fmt::format("version.minor must be 0..{}", kKcidbMinor));
  }

  auto string_field = [](const json& o, const char* key) -> const json* {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? &*it : nullptr;
  };
  // Checks an object's required fields, origin and ids; returns its id.
  auto check_object = [&](const json& o, const std::string& where,
                          const std::vector<const char*>& required,
                          const std::set<std::string>& allowed) -> std::string {
    if (!o.is_object()) {
      bad(where + ": not an object");
      return "";
    }
    for (const auto& [k, v] : o.items())
      if (!allowed.count(k)) bad(where + ": property '" + k + "' is not in the schema");
    for (const char* key : required)
      if (!string_field(o, key)) bad(where + ": required string '" + key + "' missing");
    std::string origin;
    if (const json* v = string_field(o, "origin")) {
      origin = *v;
      if (!std::regex_match(origin, origin_re)) bad(where + ": origin '" + origin + "' invalid");
    }
    for (const auto& [k, v] : o.items()) {
      bool is_id = k == "id" || (k.size() > 3 && k.substr(k.size() - 3) == "_id");
      if (!is_id || !v.is_string()) continue;
      std::string s = v;
      auto colon = s.find(':');
      if (colon == std::string::npos || colon == 0 ||
          !std::regex_match(s.substr(0, colon), origin_re))
        bad(where + ": " + k + " '" + s + "' is not '<origin>:...'");
    }
    if (const json* v = string_field(o, "status"); v && !statuses.count(*v))
      bad(where + ": status '" + v->get<std::string>() + "' not in the schema's enum");
    if (o.contains("status") && !o["status"].is_string()) bad(where + ": status not a string");
    return o.contains("id") && o["id"].is_string() ? o["id"].get<std::string>() : "";
  };
  auto check_resources = [&](const json& o, const char* key, const std::string& where) {
    if (!o.contains(key)) return;
    if (!o[key].is_array()) return bad(where + ": " + key + " not an array");
    for (const auto& res : o[key]) {
      const json* name = string_field(res, "name");
      if (!name || name->get<std::string>().empty() ||
          name->get<std::string>().find('/') != std::string::npos)
        bad(where + ": " + key + " entry needs a name without '/'");
      if (!string_field(res, "url")) bad(where + ": " + key + " entry needs a url");
    }
  };

  std::set<std::string> checkout_ids, build_ids, test_ids;
  auto list = [&](const char* key) -> const json* {
    if (!j.contains(key)) return nullptr;
    if (!j[key].is_array()) {
      bad(std::string(key) + ": not an array");
      return nullptr;
    }
    return &j[key];
  };
  if (const json* cs = list("checkouts")) {
    for (std::size_t i = 0; i < cs->size(); ++i) {
      const json& c = (*cs)[i];
      std::string where = fmt::format("checkouts[{}]", i);
      std::string cid = check_object(c, where, {"id", "origin"}, kCheckoutProperties);
      if (!cid.empty() && !checkout_ids.insert(cid).second) bad(where + ": duplicate id " + cid);
      if (const json* h = string_field(c, "patchset_hash");
          h && !h->get<std::string>().empty() && !is_hex(*h, 64))
        bad(where + ": patchset_hash is not a sha256");
      if (c.contains("git_commit_hash") &&
          (!c["git_commit_hash"].is_string() || !is_hex(c["git_commit_hash"], 40)))
        bad(where + ": git_commit_hash is not a full sha1");
      check_resources(c, "patchset_files", where);
    }
  }
  if (const json* bs = list("builds")) {
    for (std::size_t i = 0; i < bs->size(); ++i) {
      const json& b = (*bs)[i];
      std::string where = fmt::format("builds[{}]", i);
      std::string bid = check_object(b, where, {"checkout_id", "id", "origin"}, kBuildProperties);
      if (!bid.empty() && !build_ids.insert(bid).second) bad(where + ": duplicate id " + bid);
      if (const json* c = string_field(b, "checkout_id"); c && !checkout_ids.count(*c))
        bad(where + ": checkout " + c->get<std::string>() + " not in this report");
      if (const json* a = string_field(b, "architecture");
          a && !std::regex_match(a->get<std::string>(), arch_re))
        bad(where + ": architecture '" + a->get<std::string>() + "' invalid");
      check_resources(b, "input_files", where);
      check_resources(b, "output_files", where);
    }
  }
  if (const json* ts = list("tests")) {
    for (std::size_t i = 0; i < ts->size(); ++i) {
      const json& t = (*ts)[i];
      std::string where = fmt::format("tests[{}]", i);
      std::string tid = check_object(t, where, {"build_id", "id", "origin"}, kTestProperties);
      if (!tid.empty() && !test_ids.insert(tid).second) bad(where + ": duplicate id " + tid);
      if (const json* b = string_field(t, "build_id"); b && !build_ids.count(*b))
        bad(where + ": build " + b->get<std::string>() + " not in this report");
      if (t.contains("path") &&
          (!t["path"].is_string() || !std::regex_match(t["path"].get<std::string>(), path_re)))
        bad(where + ": path '" + t["path"].dump() + "' does not match the schema's pattern");
      if (t.contains("number") && (!t["number"].is_object() || !t["number"].contains("value") ||
                                   !t["number"]["value"].is_number()))
        bad(where + ": number needs a numeric value");
      check_resources(t, "output_files", where);
    }
  }
  return out;
}

}  // namespace kh
