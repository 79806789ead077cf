// kcidb.json: a job's results as KernelCI's KCIDB I/O data (schema v5.0,
// kernelci/kcidb-io kcidb_io/schema/v05_00.py), ready for `kcidb-submit`.
//
//   checkouts  one per kernel source + series: git commit (git sources),
//              patchset_files (file:// URLs of the series' patches, in order)
//              and patchset_hash (sha256 over each patch's sha256 + "\n")
//   builds     one per kernel × arch: the artifact key, architecture, build
//              time, status PASS (built) or ERROR (no kernel)
//   tests      per run "kharness.<workload id>", with status, the key metric
//              as its number, the console log as log_url; below it
//              ".<key metric>" (DONE, the number), ".assertion_<n>" per
//              assertion and ".<program>.<case>" per selftest case
//
// Outcome -> status: pass PASS, fail FAIL, skip SKIP, infra ERROR when the
// guest booted (the test did not complete), MISS when it never ran (no
// kernel, no boot: the harness failed, nothing is known about the test).
//
// Ids are "kharness:<...>": checkouts by source identity and patchset
// hash, builds by artifact key, tests by results folder name + run folder,
// so the same run exported twice has the same ids.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

inline constexpr const char* kKcidbOrigin = "kharness";
inline constexpr int kKcidbMajor = 5;
inline constexpr int kKcidbMinor = 0;

// `results_dir`: the job's results folder (absolute paths in the URLs and
// its name in the test ids).
nlohmann::json kcidb_json(const std::string& job_name, const std::vector<RunResult>& runs,
                          const std::filesystem::path& results_dir);

// KCIDB's status for a run's outcome (see above).
std::string kcidb_status(const RunResult& r);

// A test path component: KCIDB allows [a-zA-Z0-9_-] between the dots;
// anything else becomes '_'.
std::string kcidb_path_part(const std::string& s);

// What is wrong with `j` as KCIDB v5.0 I/O data, checked against the
// schema's required fields and patterns (kcidb_io/schema/v05_00.py):
//   top level: "version" required, {major: 5, minor: 0..0}, only the known
//     properties (version, checkouts, builds, tests, issues, incidents);
//   checkout: id, origin;  build: checkout_id, id, origin;
//   test: build_id, id, origin;
//   origin matches ^[a-z0-9_]+$, every id and *_id "<origin>:..." ;
//   status in FAIL ERROR MISS PASS DONE SKIP;  test path matches
//   ^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$;  number has a numeric value;
//   architecture matches ^[a-z0-9_]*$;  patchset_hash "" or 64 hex;
//   git_commit_hash 40 hex;  resources have name (no '/') and url;
//   no property is null.
// Beyond the schema (what the database needs to join them): ids unique per
// kind, every build's checkout and every test's build present.
// Empty when it is fine.
std::vector<std::string> kcidb_problems(const nlohmann::json& j);

}  // namespace kh
