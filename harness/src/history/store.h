// The history store: every run of every job in one SQLite file, so nightly
// results can be read as a series over time (`kharness history`) and a
// regression shows up as a change (history/regression.h).
//
// A run is stored once: its uid is a hash of the job name and its
// result.json contents, so importing a results folder twice, or importing
// the folder `kharness run` already recorded, adds nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

// One stored run: what the history needs of a RunResult, plus where it came
// from.
struct StoredRun {
  std::int64_t id = 0;      // row id: insertion order
  std::string uid;          // content hash (see above)
  std::string job;          // the job's name
  std::string results_dir;  // the job's results folder when recorded (absolute)
  std::string started;      // UTC, "2026-11-24T21:13:14Z"
  KernelIdentity kernel;    // label, release, source, commit, series and config hashes
  std::string arch;
  std::string workload;  // the job's workload id
  std::string workload_name;
  std::string key_metric;
  int repeat = 0;
  std::map<std::string, std::string> params;
  Outcome outcome = Outcome::infra;
  std::string reason;
  std::string run_dir;
  Metrics metrics;
  std::vector<AssertionResult> assertions;  // expression, value, passed, error
  std::vector<ConsoleFinding> reports;      // kind, title, tolerated (no excerpts)
  std::vector<TestCase> cases;
};
// A run whose metrics mean something about the kernel: pass or fail (infra
// and skip measured nothing).
inline bool measured(const StoredRun& r) {
  return r.outcome == Outcome::pass || r.outcome == Outcome::fail;
}

// Which runs to read. Empty strings match everything.
struct HistoryQuery {
  std::string job;
  std::string kernel;  // the job's kernel label
  std::string arch;
  std::string workload;  // workload id, or workload name
};

class HistoryStore {
 public:
  // Opens (creating it and its folder if absent) and migrates the store to
  // kSchemaVersion. Throws InfraError when the file cannot be opened or
  // written, InputError when it is no kharness history or comes from a
  // newer kharness (a schema above ours).
  explicit HistoryStore(const std::filesystem::path& path);
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  static constexpr int kSchemaVersion = 2;
  int schema_version() const;  // PRAGMA user_version of the open file

  // Adds one run; false when a run with the same uid is already stored.
  bool add(const std::string& job, const std::filesystem::path& results_dir, const RunResult& r);
  // Several in one transaction (a whole results folder): how many were new.
  int add_all(const std::string& job, const std::filesystem::path& results_dir,
              const std::vector<RunResult>& runs);

  // Matching runs, oldest first (by start time, then insertion order),
  // with their metrics, assertions, reports and cases.
  std::vector<StoredRun> runs(const HistoryQuery& q = {}) const;
  std::int64_t count() const;

  // uid of a run: sha256 over the job name and result.json's text.
  static std::string uid(const std::string& job, const RunResult& r);

 private:
  void migrate();
  struct Db;
  Db* db_;
  std::filesystem::path path_;
};

// What `history import` found in a results folder.
struct ImportSummary {
  int folders = 0;  // job results folders (a summary.json or result.json files)
  int runs = 0;     // result.json files read
  int added = 0;    // new to the store
};

// Imports every run under each of `dirs`: a job's results folder (holding
// summary.json) or any folder above them (results/ with many jobs). The
// job's name comes from summary.json, else job.yaml, else the folder name;
// a run without a start time (an older result.json) gets its file's
// modification time. Throws InputError for a folder that does not exist or
// a result.json that cannot be read.
ImportSummary import_results(HistoryStore& store, const std::vector<std::filesystem::path>& dirs);

// Where a job's history goes by default: history.sqlite in the folder that
// holds the job's results folder (results/history.sqlite for
// results/<job>-<time>/).
std::filesystem::path default_history_path(const std::filesystem::path& results_dir);

}  // namespace kh
