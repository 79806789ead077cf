// Times the history store on synthetic runs shaped like real ones (a
// dying-cgroup result.json carries about 400 metrics: three snapshots of
// /proc/vmstat, meminfo, memory.stat ...).
//
//   kharness_history_bench [--runs N] [--metrics M] [--dir DIR]
//
// Writes N result.json files (M metrics, 3 assertions, a console report in
// every 50th) as 10 nightly job folders under DIR (default: a temporary
// folder, removed after), then prints the time to import them into a fresh
// store, to import them again (nothing new), to read them all back, and to
// judge every series (what `kharness history` does).
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "history/regression.h"
#include "history/store.h"
#include "report/result_json.h"
#include "util/files.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using kh::RunResult;
  int runs = 1000, metrics = 400;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (a == "--metrics" && i + 1 < argc)
      metrics = std::atoi(argv[++i]);
    else if (a == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else {
      fmt::print(stderr, "usage: kharness_history_bench [--runs N] [--metrics M] [--dir DIR]\n");
      return 2;
    }
  }
  bool temporary = dir.empty();
  if (temporary)
    dir = fs::temp_directory_path() / fmt::format("kharness-history-bench-{}", getpid());
  fs::remove_all(dir);
  const int nights = 10;
  const char* arches[] = {"x86_64", "arm64"};
  const char* workloads[] = {"dying-cgroup", "dying-cgroup-kmem", "thp-shrinker", "jbd2"};
  for (int i = 0; i < runs; ++i) {
    int night = i * nights / runs;
    RunResult r;
    r.kernel = {"mainline",
                "6.1.192",
                fmt::format("{:064x}", night),
                "",
                "/usr/src/linux.tar.xz",
                "tarball:" + fmt::format("{:064x}", night),
                "",
                "",
                fmt::format("{:064x}", 7),
                {}};
    r.arch = arches[i % 2];
    r.workload = workloads[(i / 2) % 4];
    r.workload_name = r.workload;
    r.key_metric = "dying_after_loop";
    r.repeat = i / 8 % (runs / nights / 8 + 1);
    r.started = fmt::format("2026-11-{:02d}T01:{:02d}:{:02d}Z", night + 1, i / 60 % 60, i % 60);
    r.outcome = kh::Outcome::pass;
    r.run_dir = fmt::format("mainline/{}/{}/r{}", r.arch, r.workload, i);
    r.params = {{"iterations", "2000"}, {"cgroup", "v2"}};
    for (int m = 0; m < metrics; ++m)
      r.metrics[fmt::format("after.vmstat.metric_{}", m)] = (i * 7919 + m * 104729) % 100000;
    r.metrics["dying_after_loop"] = 2000 + (i * 37 % 11) - 5;
    for (int a = 0; a < 3; ++a) r.assertions.push_back({fmt::format("m{} < 10", a), 1, true, ""});
    if (i % 50 == 0) r.console.push_back({"WARNING", "WARNING in something", 10, false, false, ""});
    fs::path job = dir / fmt::format("nightly-202611{:02d}-010000", night + 1);
    if (!fs::exists(job / "job.yaml")) kh::write_file(job / "job.yaml", "name: nightly\n");
    kh::write_result_json(job / r.run_dir / "result.json", r);
  }

  auto now = [] { return std::chrono::steady_clock::now(); };
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  fs::path db = dir / "history.sqlite";
  kh::HistoryStore store(db);
  auto t0 = now();
  auto first = kh::import_results(store, {dir});
  auto t1 = now();
  auto again = kh::import_results(store, {dir});
  auto t2 = now();
  auto all = store.runs();
  auto t3 = now();
  int flagged = 0;
  auto series = kh::group_series(all);
  for (const auto& s : series)
    flagged += static_cast<int>(kh::find_regressions(s, kh::judged_metrics(s, {}), {}).size());
  auto t4 = now();
  auto one = store.runs({"nightly", "mainline", "x86_64", "dying-cgroup"});
  auto t5 = now();
  fmt::print(
      "history bench: {} runs x {} metrics in {} job folders; store {:.1f} MB\n"
      "  import            {:8.0f} ms  ({} new, {:.2f} ms/run)\n"
      "  import again      {:8.0f} ms  ({} new)\n"
      "  read all back     {:8.0f} ms  ({} runs)\n"
      "  judge all series  {:8.0f} ms  ({} series, {} regression(s))\n"
      "  read one series   {:8.0f} ms  ({} runs)\n",
      runs, metrics, first.folders, static_cast<double>(fs::file_size(db)) / 1e6, ms(t0, t1),
      first.added, ms(t0, t1) / std::max(1, first.added), ms(t1, t2), again.added, ms(t2, t3),
      all.size(), ms(t3, t4), series.size(), flagged, ms(t4, t5), one.size());
  if (temporary) fs::remove_all(dir);
  return first.added == runs && again.added == 0 ? 0 : 1;
}
