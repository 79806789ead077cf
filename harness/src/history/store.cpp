#include "history/store.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>

#include "report/result_json.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"

namespace kh {
namespace fs = std::filesystem;

namespace {

// Each entry takes the store from version i to i + 1; never edit one that
// has shipped, append a new one.
const char* const kMigrations[] = {
    // 1: runs and what they measured.
    R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  job TEXT NOT NULL,
  results_dir TEXT NOT NULL,
  started TEXT NOT NULL,
  kernel TEXT NOT NULL,
  release TEXT NOT NULL,
  source TEXT NOT NULL,
  source_id TEXT NOT NULL,
  commit_id TEXT NOT NULL,
  series TEXT NOT NULL,
  series_hash TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  artifact_key TEXT NOT NULL,
  arch TEXT NOT NULL,
  workload TEXT NOT NULL,
  workload_name TEXT NOT NULL,
  key_metric TEXT NOT NULL,
  repeat INTEGER NOT NULL,
  params TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  run_dir TEXT NOT NULL
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE TABLE assertions (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  expression TEXT NOT NULL,
  value REAL,
  passed INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (run_id, pos)
) WITHOUT ROWID;
CREATE TABLE reports (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  tolerated INTEGER NOT NULL,
  PRIMARY KEY (run_id, pos)
) WITHOUT ROWID;
CREATE TABLE cases (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  program TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (run_id, pos)
) WITHOUT ROWID;
)sql",
    // 2: the series `kharness history` reads, without a full scan.
    R"sql(
CREATE INDEX runs_series ON runs (job, workload, arch, kernel, started);
CREATE INDEX runs_workload_name ON runs (workload_name);
)sql",
};
static_assert(std::size(kMigrations) == HistoryStore::kSchemaVersion);

[[noreturn]] void fail(sqlite3* db, const fs::path& path, const std::string& what) {
  throw InfraError(fmt::format("history {}: {}: {}", path.string(), what,
                               db ? sqlite3_errmsg(db) : "out of memory"));
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const fs::path& path, const std::string& sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
      fail(db, path, "preparing a query");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, double v) {
    // NaN has no place in the store: a NULL says "no number".
    if (std::isfinite(v))
      sqlite3_bind_double(s_, i, v);
    else
      sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, path_, "query");
  }
  void run() {
    step();
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  double real(int col) const { return sqlite3_column_double(s_, col); }
  bool null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3* db_;
  const fs::path& path_;
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace

struct HistoryStore::Db {
  sqlite3* h = nullptr;
  void exec(const fs::path& path, const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw InfraError(fmt::format("history {}: {}", path.string(), msg));
    }
  }
};

HistoryStore::HistoryStore(const fs::path& path) : db_(new Db), path_(path) {
  try {
    if (path.has_parent_path()) ensure_dir(path.parent_path());
    if (sqlite3_open_v2(path.c_str(), &db_->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        nullptr) != SQLITE_OK)
      fail(db_->h, path, "cannot open");
    // Two kharness runs finishing at once both write: wait for the lock
    // rather than fail.
    sqlite3_busy_timeout(db_->h, 30000);
    migrate();
    db_->exec(path, "PRAGMA foreign_keys = ON");
  } catch (...) {
    sqlite3_close(db_->h);
    delete db_;
    throw;
  }
}

HistoryStore::~HistoryStore() {
  sqlite3_close(db_->h);
  delete db_;
}

int HistoryStore::schema_version() const {
  Stmt s(db_->h, path_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

void HistoryStore::migrate() {
  // Not a database at all (a results file named by mistake) fails here.
  int version = 0;
  try {
    version = schema_version();
  } catch (const InfraError& e) {
    throw InputError(fmt::format("{}: not a kharness history ({})", path_.string(), e.what()));
  }
  if (version > kSchemaVersion)
    throw InputError(fmt::format(
        "{}: history schema {} is newer than this kharness knows ({}): use a newer kharness",
        path_.string(), version, kSchemaVersion));
  if (version == 0) {
    // A fresh file, or an SQLite file of something else.
    Stmt s(db_->h, path_, "SELECT count(*) FROM sqlite_master");
    if (s.step() && s.integer(0) > 0)
      throw InputError(
          fmt::format("{}: an SQLite file, but not a kharness history", path_.string()));
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    db_->exec(path_, "BEGIN IMMEDIATE");
    try {
      // Another process may have migrated while we waited for the lock.
      if (schema_version() == v) {
        db_->exec(path_, kMigrations[v]);
        db_->exec(path_, fmt::format("PRAGMA user_version = {}", v + 1));
      }
      db_->exec(path_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_->h, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

std::string HistoryStore::uid(const std::string& job, const RunResult& r) {
  return Hasher().feed(job).feed(to_json(r).dump()).hex();
}

bool HistoryStore::add(const std::string& job, const fs::path& results_dir, const RunResult& r) {
  return add_all(job, results_dir, {r}) == 1;
}

int HistoryStore::add_all(const std::string& job, const fs::path& results_dir,
                          const std::vector<RunResult>& runs) {
  sqlite3* h = db_->h;
  db_->exec(path_, "BEGIN IMMEDIATE");
  int added = 0;
  try {
    Stmt run(h, path_,
             "INSERT OR IGNORE INTO runs (uid, job, results_dir, started, kernel, release, source, "
             "source_id, commit_id, series, series_hash, config_hash, artifact_key, arch, "
             "workload, workload_name, key_metric, repeat, params, outcome, reason, run_dir) "
             "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,"
             "?22)");
    Stmt metric(h, path_, "INSERT INTO metrics (run_id, name, value) VALUES (?1, ?2, ?3)");
    Stmt assertion(h, path_,
                   "INSERT INTO assertions (run_id, pos, expression, value, passed, error) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    Stmt report(h, path_,
                "INSERT INTO reports (run_id, pos, kind, title, tolerated) "
                "VALUES (?1, ?2, ?3, ?4, ?5)");
    Stmt kase(h, path_,
              "INSERT INTO cases (run_id, pos, program, name, status, reason) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    std::string dir = fs::absolute(results_dir).lexically_normal().string();
    for (const RunResult& r : runs) {
      const auto& k = r.kernel;
      run.bind(1, uid(job, r))
          .bind(2, job)
          .bind(3, dir)
          .bind(4, r.started)
          .bind(5, k.name)
          .bind(6, k.release)
          .bind(7, k.source)
          .bind(8, k.source_id)
          .bind(9, k.commit)
          .bind(10, k.series)
          .bind(11, k.series_hash)
          .bind(12, k.config_hash)
          .bind(13, k.artifact_key)
          .bind(14, r.arch)
          .bind(15, r.workload)
          .bind(16, r.workload_name)
          .bind(17, r.key_metric)
          .bind(18, static_cast<std::int64_t>(r.repeat))
          .bind(19, nlohmann::json(r.params).dump())
          .bind(20, std::string(to_string(r.outcome)))
          .bind(21, r.reason)
          .bind(22, r.run_dir);
      run.run();
      if (sqlite3_changes(h) == 0) continue;  // already stored
      ++added;
      std::int64_t id = sqlite3_last_insert_rowid(h);
      for (const auto& [name, value] : r.metrics) {
        if (!std::isfinite(value)) continue;
        metric.bind(1, id).bind(2, name).bind(3, value);
        metric.run();
      }
      std::int64_t pos = 0;
      for (const auto& a : r.assertions) {
        assertion.bind(1, id)
            .bind(2, pos++)
            .bind(3, a.expression)
            .bind(4, a.value)
            .bind(5, static_cast<std::int64_t>(a.passed))
            .bind(6, a.error);
        assertion.run();
      }
      pos = 0;
      for (const auto& f : r.console) {
        report.bind(1, id)
            .bind(2, pos++)
            .bind(3, f.kind)
            .bind(4, f.title)
            .bind(5, static_cast<std::int64_t>(f.tolerated));
        report.run();
      }
      pos = 0;
      for (const auto& c : r.cases) {
        kase.bind(1, id)
            .bind(2, pos++)
            .bind(3, c.program)
            .bind(4, c.name)
            .bind(5, c.status)
            .bind(6, c.reason);
        kase.run();
      }
    }
    db_->exec(path_, "COMMIT");
  } catch (...) {
    sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return added;
}

std::int64_t HistoryStore::count() const {
  Stmt s(db_->h, path_, "SELECT count(*) FROM runs");
  return s.step() ? s.integer(0) : 0;
}

std::vector<StoredRun> HistoryStore::runs(const HistoryQuery& q) const {
  sqlite3* h = db_->h;
  const std::string where =
      "(?1 = '' OR job = ?1) AND (?2 = '' OR kernel = ?2) AND (?3 = '' OR arch = ?3) AND "
      "(?4 = '' OR workload = ?4 OR workload_name = ?4)";
  auto bind_filter = [&](Stmt& s) {
    s.bind(1, q.job).bind(2, q.kernel).bind(3, q.arch).bind(4, q.workload);
  };
  std::vector<StoredRun> out;
  std::unordered_map<std::int64_t, std::size_t> index;
  {
    Stmt s(h, path_,
           "SELECT id, uid, job, results_dir, started, kernel, release, source, source_id, "
           "commit_id, series, series_hash, config_hash, artifact_key, arch, workload, "
           "workload_name, key_metric, repeat, params, outcome, reason, run_dir FROM runs WHERE " +
               where + " ORDER BY started, id");
    bind_filter(s);
    while (s.step()) {
      StoredRun r;
      r.id = s.integer(0);
      r.uid = s.text(1);
      r.job = s.text(2);
      r.results_dir = s.text(3);
      r.started = s.text(4);
      r.kernel.name = s.text(5);
      r.kernel.release = s.text(6);
      r.kernel.source = s.text(7);
      r.kernel.source_id = s.text(8);
      r.kernel.commit = s.text(9);
      r.kernel.series = s.text(10);
      r.kernel.series_hash = s.text(11);
      r.kernel.config_hash = s.text(12);
      r.kernel.artifact_key = s.text(13);
      r.arch = s.text(14);
      r.workload = s.text(15);
      r.workload_name = s.text(16);
      r.key_metric = s.text(17);
      r.repeat = static_cast<int>(s.integer(18));
      auto params = nlohmann::json::parse(s.text(19), nullptr, false);
      if (params.is_object())
        for (const auto& [k, v] : params.items())
          if (v.is_string()) r.params[k] = v.get<std::string>();
      r.outcome = outcome_from_string(s.text(20)).value_or(Outcome::infra);
      r.reason = s.text(21);
      r.run_dir = s.text(22);
      index[r.id] = out.size();
      out.push_back(std::move(r));
    }
  }
  if (out.empty()) return out;
  const std::string sub = "run_id IN (SELECT id FROM runs WHERE " + where + ")";
  {
    Stmt s(h, path_, "SELECT run_id, name, value FROM metrics WHERE " + sub);
    bind_filter(s);
    while (s.step()) out[index.at(s.integer(0))].metrics[s.text(1)] = s.real(2);
  }
  {
    Stmt s(h, path_,
           "SELECT run_id, expression, value, passed, error FROM assertions WHERE " + sub +
               " ORDER BY run_id, pos");
    bind_filter(s);
    while (s.step()) {
      AssertionResult a;
      a.expression = s.text(1);
      a.value = s.null(2) ? std::nan("") : s.real(2);
      a.passed = s.integer(3) != 0;
      a.error = s.text(4);
      out[index.at(s.integer(0))].assertions.push_back(std::move(a));
    }
  }
  {
    Stmt s(h, path_,
           "SELECT run_id, kind, title, tolerated FROM reports WHERE " + sub +
               " ORDER BY run_id, pos");
    bind_filter(s);
    while (s.step()) {
      ConsoleFinding f;
      f.kind = s.text(1);
      f.title = s.text(2);
      f.tolerated = s.integer(3) != 0;
      out[index.at(s.integer(0))].reports.push_back(std::move(f));
    }
  }
  {
    Stmt s(h, path_,
           "SELECT run_id, program, name, status, reason FROM cases WHERE " + sub +
               " ORDER BY run_id, pos");
    bind_filter(s);
    while (s.step())
      out[index.at(s.integer(0))].cases.push_back({s.text(1), s.text(2), s.text(3), s.text(4)});
  }
  return out;
}

fs::path default_history_path(const fs::path& results_dir) {
  fs::path dir = fs::absolute(results_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // a trailing slash
  return dir.parent_path() / "history.sqlite";
}

namespace {

std::string mtime_utc(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "";
  std::time_t tt = st.st_mtim.tv_sec;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The job's name for a results folder: summary.json, job.yaml, the folder.
std::string job_name(const fs::path& dir) {
  std::string text;
  if (read_file_if_exists(dir / "summary.json", text)) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object() && j.contains("job") && j["job"].is_string()) return j["job"];
  }
  if (read_file_if_exists(dir / "job.yaml", text)) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.rfind("name:", 0) == 0) {
        std::string name = line.substr(5);
        if (auto hash = name.find('#'); hash != std::string::npos) name.resize(hash);
        while (!name.empty() && (name.front() == ' ' || name.front() == '"')) name.erase(0, 1);
        while (!name.empty() && (name.back() == ' ' || name.back() == '"' || name.back() == '\r'))
          name.pop_back();
        if (!name.empty()) return name;
      }
    }
  }
  return dir.filename().string();
}

bool is_job_folder(const fs::path& dir) {
  return fs::is_regular_file(dir / "summary.json") || fs::is_regular_file(dir / "job.yaml");
}

void import_job_folder(HistoryStore& store, const fs::path& dir, ImportSummary& report) {
  std::vector<RunResult> runs;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->path().filename() != "result.json" || !it->is_regular_file()) continue;
    RunResult r = read_result_json(it->path());
    if (r.started.empty()) r.started = mtime_utc(it->path());
    if (r.run_dir.empty()) r.run_dir = it->path().parent_path().lexically_relative(dir).string();
    runs.push_back(std::move(r));
  }
  // Directory order is arbitrary: store by start time, then folder, so
  // runs that started in the same second keep a stable order.
  std::sort(runs.begin(), runs.end(), [](const RunResult& a, const RunResult& b) {
    return std::tie(a.started, a.run_dir) < std::tie(b.started, b.run_dir);
  });
  ++report.folders;
  report.runs += static_cast<int>(runs.size());
  report.added += store.add_all(job_name(dir), dir, runs);
}

}  // namespace

ImportSummary import_results(HistoryStore& store, const std::vector<fs::path>& dirs) {
  ImportSummary report;
  for (const auto& d : dirs) {
    if (!fs::is_directory(d))
      throw InputError(fmt::format("{}: no such results folder", d.string()));
    if (is_job_folder(d)) {
      import_job_folder(store, d, report);
      continue;
    }
    // A results root: every job folder below it (not inside one another).
    std::vector<fs::path> jobs;
    for (auto it = fs::recursive_directory_iterator(d); it != fs::recursive_directory_iterator();
         ++it) {
      if (!it->is_directory()) continue;
      if (is_job_folder(it->path())) {
        jobs.push_back(it->path());
        it.disable_recursion_pending();
      }
    }
    if (jobs.empty())
      throw InputError(fmt::format(
          "{}: no kharness results here (no summary.json or job.yaml in it or below)", d.string()));
    std::sort(jobs.begin(), jobs.end());
    for (const auto& j : jobs) import_job_folder(store, j, report);
  }
  return report;
}

}  // namespace kh
