#include "history/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "report/result_json.h"
#include "report/sample_runs.h"
#include "util/error.h"
#include "util/files.h"

namespace kh {
namespace {

namespace fs = std::filesystem;
using test::sample_run;

RunResult night(int day, double dying, const std::string& arch = "x86_64") {
  RunResult r = sample_run(Outcome::pass);
  r.arch = arch;
  r.started = fmt::format("2026-11-{:02d}T01:00:00Z", day);
  r.kernel.commit = fmt::format("{:040x}", day);
  r.kernel.source_id = "git:" + fmt::format("{:040x}", 1000 + day);
  r.kernel.config_hash = std::string(64, 'c');
  r.key_metric = "dying_after_loop";
  r.metrics["dying_after_loop"] = dying;
  r.run_dir = fmt::format("baseline/{}/dying-cgroup", arch);
  return r;
}

TEST(HistoryStore, FreshStoreIsAtTheCurrentSchemaVersion) {
  ScopedTempDir tmp;
  HistoryStore store(tmp.path() / "sub" / "history.sqlite");
  EXPECT_EQ(store.schema_version(), HistoryStore::kSchemaVersion);
  EXPECT_EQ(store.count(), 0);
}

TEST(HistoryStore, StoresAndReadsBackEverythingTheHistoryNeeds) {
  ScopedTempDir tmp;
  HistoryStore store(tmp.path() / "history.sqlite");
  RunResult r = sample_run(Outcome::fail, 1);
  r.started = "2026-11-24T21:13:14Z";
  r.kernel.commit = std::string(40, 'a');
  r.kernel.series_hash = std::string(64, 'b');
  r.kernel.config_hash = std::string(64, 'c');
  r.kernel.source_id = "git:" + std::string(40, 'd');
  r.cases = {{"test_memcontrol", "test_memcg_oom", "fail", "oom not seen"}};
  ASSERT_TRUE(store.add("nightly", tmp.path() / "nightly-1", r));

  auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  const StoredRun& s = runs[0];
  EXPECT_EQ(s.job, "nightly");
  EXPECT_EQ(s.results_dir, (tmp.path() / "nightly-1").string());
  EXPECT_EQ(s.started, "2026-11-24T21:13:14Z");
  EXPECT_EQ(s.kernel.name, "baseline");
  EXPECT_EQ(s.kernel.release, "6.1.192");
  EXPECT_EQ(s.kernel.commit, r.kernel.commit);
  EXPECT_EQ(s.kernel.series_hash, r.kernel.series_hash);
  EXPECT_EQ(s.kernel.config_hash, r.kernel.config_hash);
  EXPECT_EQ(s.kernel.source_id, r.kernel.source_id);
  EXPECT_EQ(s.arch, "x86_64");
  EXPECT_EQ(s.workload, "dying-cgroup");
  EXPECT_EQ(s.repeat, 1);
  EXPECT_EQ(s.outcome, Outcome::fail);
  EXPECT_EQ(s.reason, r.reason);
  EXPECT_EQ(s.params.at("iterations"), "500");
  EXPECT_EQ(s.metrics, r.metrics);
  ASSERT_EQ(s.assertions.size(), 3u);
  EXPECT_EQ(s.assertions[1].expression, "settled.nr_dying <= 1");
  EXPECT_FALSE(s.assertions[1].passed);
  EXPECT_EQ(s.assertions[1].error, "unknown name 'settled.nr_dying'");
  EXPECT_TRUE(s.assertions[2].passed);
  ASSERT_EQ(s.reports.size(), 2u);
  EXPECT_EQ(s.reports[0].title, "WARNING in iterate_mm_list");
  EXPECT_FALSE(s.reports[0].tolerated);
  EXPECT_TRUE(s.reports[1].tolerated);
  ASSERT_EQ(s.cases.size(), 1u);
  EXPECT_EQ(s.cases[0].name, "test_memcg_oom");
  EXPECT_EQ(s.cases[0].status, "fail");
}

TEST(HistoryStore, TheSameRunTwiceIsStoredOnce) {
  ScopedTempDir tmp;
  HistoryStore store(tmp.path() / "history.sqlite");
  RunResult r = night(1, 500);
  EXPECT_TRUE(store.add("nightly", tmp.path() / "a", r));
  EXPECT_FALSE(store.add("nightly", tmp.path() / "a", r));
  // The same result found in a moved folder is still the same run.
  EXPECT_FALSE(store.add("nightly", tmp.path() / "moved", r));
  // Another job with the same results is another run.
  EXPECT_TRUE(store.add("other", tmp.path() / "a", r));
  r.metrics["dying_after_loop"] = 501;
  EXPECT_TRUE(store.add("nightly", tmp.path() / "a", r));
  EXPECT_EQ(store.count(), 3);
}

TEST(HistoryStore, QueriesFilterAndComeOldestFirst) {
  ScopedTempDir tmp;
  HistoryStore store(tmp.path() / "history.sqlite");
  // Inserted out of order: the store orders by start time.
  store.add_all("nightly", tmp.path() / "n",
                {night(3, 503), night(1, 501), night(2, 502, "arm64"), night(2, 502)});
  RunResult other = night(4, 7);
  other.workload = "dying-cgroup-kmem";
  store.add("nightly", tmp.path() / "n", other);
  store.add("bench", tmp.path() / "b", night(5, 9));

  // "dying-cgroup" is an id and the name of both entries' workload: it
  // matches both, as `kharness run --workload` does.
  auto x86 = store.runs({"nightly", "", "x86_64", "dying-cgroup"});
  ASSERT_EQ(x86.size(), 4u);
  EXPECT_EQ(x86[3].workload, "dying-cgroup-kmem");
  EXPECT_EQ(x86[0].metrics.at("dying_after_loop"), 501);
  EXPECT_EQ(x86[1].metrics.at("dying_after_loop"), 502);
  EXPECT_EQ(x86[2].metrics.at("dying_after_loop"), 503);
  EXPECT_EQ(store.runs({"nightly", "", "arm64", ""}).size(), 1u);
  EXPECT_EQ(store.runs({"", "", "", "dying-cgroup-kmem"}).size(), 1u);
  // A workload name matches every entry of that workload.
  EXPECT_EQ(store.runs({"nightly", "", "", "dying-cgroup"}).size(), 5u);
  EXPECT_EQ(store.runs({"bench", "", "", ""}).size(), 1u);
  EXPECT_EQ(store.runs({"", "no-such-kernel", "", ""}).size(), 0u);
  EXPECT_EQ(store.runs().size(), 6u);
}

TEST(HistoryStore, AnOlderStoreIsMigratedKeepingItsRuns) {
  ScopedTempDir tmp;
  fs::path db = tmp.path() / "history.sqlite";
  {
    HistoryStore store(db);
    store.add("nightly", tmp.path(), night(1, 500));
  }
  // Take the file back to schema 1: drop what migration 2 added.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "DROP INDEX runs_series; DROP INDEX runs_workload_name; "
                           "PRAGMA user_version = 1",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  HistoryStore store(db);
  EXPECT_EQ(store.schema_version(), 2);
  EXPECT_EQ(store.count(), 1);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(
      h, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'runs_series'", -1, &s,
      nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 1);
  sqlite3_finalize(s);
  sqlite3_close(h);
}

TEST(HistoryStore, RefusesAStoreFromANewerKharnessAndOtherFiles) {
  ScopedTempDir tmp;
  fs::path db = tmp.path() / "history.sqlite";
  { HistoryStore store(db); }
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    sqlite3_exec(h, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  try {
    HistoryStore store(db);
    FAIL() << "a newer schema was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  write_file(tmp.path() / "notes.txt", "not a database at all, just text\n");
  EXPECT_THROW(HistoryStore(tmp.path() / "notes.txt"), InputError);
  fs::path other = tmp.path() / "other.sqlite";
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &h), SQLITE_OK);
    sqlite3_exec(h, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  EXPECT_THROW(HistoryStore{other}, InputError);
}

// A results folder as kharness run leaves it.
fs::path write_job_folder(const fs::path& root, const std::string& name,
                          const std::vector<RunResult>& runs) {
  fs::path dir = root / (name + "-20261124-010000");
  write_file(dir / "job.yaml", "name: " + name + "\n");
  write_file(dir / "summary.json", nlohmann::json{{"job", name}}.dump());
  for (const auto& r : runs) write_result_json(dir / r.run_dir / "result.json", r);
  return dir;
}

TEST(HistoryImport, ImportingAFolderTwiceAddsNothingTheSecondTime) {
  ScopedTempDir tmp;
  RunResult a = night(1, 500), b = night(1, 498, "arm64");
  fs::path dir = write_job_folder(tmp.path() / "results", "nightly", {a, b});
  HistoryStore store(tmp.path() / "history.sqlite");
  ImportSummary first = import_results(store, {dir});
  EXPECT_EQ(first.folders, 1);
  EXPECT_EQ(first.runs, 2);
  EXPECT_EQ(first.added, 2);
  ImportSummary again = import_results(store, {dir});
  EXPECT_EQ(again.runs, 2);
  EXPECT_EQ(again.added, 0);
  EXPECT_EQ(store.count(), 2);
  auto runs = store.runs();
  EXPECT_EQ(runs[0].job, "nightly");
  EXPECT_EQ(runs[0].results_dir, fs::absolute(dir).string());
  // The kernel identity survives result.json.
  EXPECT_EQ(runs[0].kernel.commit, a.kernel.commit);
  EXPECT_EQ(runs[0].kernel.source_id, a.kernel.source_id);
  EXPECT_EQ(runs[0].kernel.config_hash, a.kernel.config_hash);
}

TEST(HistoryImport, AResultsRootImportsEveryJobBelowIt) {
  ScopedTempDir tmp;
  fs::path root = tmp.path() / "results";
  write_job_folder(root, "nightly", {night(1, 500)});
  RunResult old = night(2, 501);
  old.started.clear();  // written before runs had a start time
  fs::path dir2 = write_job_folder(root, "bench", {old});
  HistoryStore store(tmp.path() / "history.sqlite");
  ImportSummary rep = import_results(store, {root});
  EXPECT_EQ(rep.folders, 2);
  EXPECT_EQ(rep.added, 2);
  auto bench = store.runs({"bench", "", "", ""});
  ASSERT_EQ(bench.size(), 1u);
  // The file's time stands in for the start.
  EXPECT_EQ(bench[0].started.size(), std::string("2026-11-24T21:13:14Z").size());
  EXPECT_EQ(bench[0].started.back(), 'Z');
  EXPECT_THROW(import_results(store, {tmp.path() / "nowhere"}), InputError);
  fs::create_directories(tmp.path() / "empty");
  EXPECT_THROW(import_results(store, {tmp.path() / "empty"}), InputError);
}

TEST(HistoryImport, DefaultPathIsBesideTheResultsFolder) {
  EXPECT_EQ(default_history_path("/srv/results/nightly-20261124-010000"),
            fs::path("/srv/results/history.sqlite"));
  EXPECT_EQ(default_history_path("/srv/results/nightly-20261124-010000/"),
            fs::path("/srv/results/history.sqlite"));
}

}  // namespace
}  // namespace kh
