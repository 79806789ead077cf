#include "kharness_cli.h"

#include <algorithm>
#include <filesystem>

#include <unistd.h>

#include "test_util.h"
#include "util/files.h"
#include "util/process.h"

namespace kh::it {

std::vector<std::string> without_stray_history(std::vector<std::string> args) {
  if (args.empty() || (args[0] != "run" && args[0] != "compare")) return args;
  auto out = std::find(args.begin(), args.end(), "--out");
  const bool names_history = std::find_if(args.begin(), args.end(), [](const std::string& a) {
                               return a == "--history" || a == "--no-history";
                             }) != args.end();
  if (names_history || out == args.end() || out + 1 == args.end()) return args;
  std::filesystem::path dir = std::filesystem::path(*(out + 1)).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  if (dir.parent_path() == std::filesystem::temp_directory_path().lexically_normal())
    args.push_back("--no-history");
  return args;
}

CliResult run_kharness(const std::vector<std::string>& args,
                       const std::vector<std::pair<std::string, std::string>>& env) {
  RealProcessRunner runner;
  Command c;
  c.argv = {KHARNESS_BINARY};
  auto checked = without_stray_history(args);
  c.argv.insert(c.argv.end(), checked.begin(), checked.end());
  c.timeout = std::chrono::minutes(30);
  c.env = env;
  ProcessResult r = runner.run(c);
  return {r.exit_code, r.output};
}

void JobRunTest::start(std::vector<std::string> args) {
  out_ = std::make_unique<ScopedTempDir>("kharness-it");
  args.insert(args.end(), {"--out", out_->path().string()});
  result_ = std::make_unique<CliResult>(run_kharness(args));
}

void JobRunTest::finish() {
  result_.reset();
  out_.reset();
}

nlohmann::json JobRunTest::result(const std::string& id, const std::string& kernel_arch) {
  return read_json(run_dir(id, kernel_arch) / "result.json");
}

std::string job(const std::string& name) {
  return test::data_path("jobs/" + name).string();
}

nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(read_file(p));
}

std::vector<int> processes_under(const std::filesystem::path& dir) {
  std::vector<int> out;
  std::string prefix = std::filesystem::weakly_canonical(dir).string();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    std::error_code ec2;
    auto cwd = std::filesystem::read_symlink(e.path() / "cwd", ec2);
    if (!ec2 && cwd.string().rfind(prefix, 0) == 0) out.push_back(pid);
  }
  return out;
}

std::string line_with(const std::string& text, const std::string& needle) {
  std::string found;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.find(needle) != std::string::npos) found = line;
    start = end + 1;
  }
  return found;
}

}  // namespace kh::it
