// Times parse_console on a large console log: the golden corpus
// (tests/data/console/*.log, real boots and reports of both arches) repeated
// to the size asked for, or a log file given on the command line.
//
//   kharness_console_bench [--mb N] [FILE]
// Prints one line: size, findings, best-of-5 milliseconds, MB/s.
//   kharness_console_bench --findings FILE
// Prints FILE's findings as the golden .expected files hold them
// (kind|title|corrupted), for tests/data/console/regenerate.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/console_findings.h"
#include "build_info.h"
#include "util/files.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  double mb = 10;
  std::string file;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mb" && i + 1 < argc)
      mb = std::atof(argv[++i]);
    else if (a == "--findings")
      list = true;
    else
      file = a;
  }
  if (list) {
    for (const auto& f : kh::parse_console(kh::read_file(file)).findings)
      std::printf("%s|%s|%s\n", f.kind.c_str(), f.title.c_str(), f.corrupted ? "true" : "false");
    return 0;
  }
  std::string log;
  if (!file.empty()) {
    log = kh::read_file(file);
  } else {
    std::vector<fs::path> logs;
    for (const auto& e : fs::directory_iterator(fs::path(KH_TEST_DATA) / "console"))
      if (e.path().extension() == ".log") logs.push_back(e.path());
    std::sort(logs.begin(), logs.end());
    std::string corpus;
    for (const auto& p : logs) corpus += kh::read_file(p) + "\n";
    const auto want = static_cast<std::size_t>(mb * 1024 * 1024);
    while (log.size() < want) log += corpus;
    log.resize(want);
  }
  double best = 1e9;
  std::size_t findings = 0;
  for (int run = 0; run < 5; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    kh::ConsoleFindings r = kh::parse_console(log);
    auto t1 = std::chrono::steady_clock::now();
    findings = r.findings.size();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("console parser: %.1f MB, %zu findings, %.0f ms (best of 5), %.0f MB/s\n",
              static_cast<double>(log.size()) / (1024 * 1024), findings, best,
              static_cast<double>(log.size()) / (1024 * 1024) / (best / 1000));
  return 0;
}
