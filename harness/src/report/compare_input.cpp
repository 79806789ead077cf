#include "report/compare_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "report/result_json.h"
#include "util/error.h"

namespace kh {

namespace fs = std::filesystem;

std::vector<RunResult> read_result_folders(const std::vector<fs::path>& dirs) {
  std::vector<std::vector<RunResult>> per_dir;
  std::map<std::string, std::set<std::size_t>> label_dirs;
  for (std::size_t d = 0; d < dirs.size(); ++d) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dirs[d], ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file() && it->path().filename() == "result.json")
        files.push_back(it->path());
    if (ec) throw InputError(fmt::format("{}: cannot read: {}", dirs[d].string(), ec.message()));
    if (files.empty())
      throw InputError(fmt::format("{}: no result.json under it", dirs[d].string()));
    std::sort(files.begin(), files.end());
    std::vector<RunResult> runs;
    for (const auto& f : files) {
      runs.push_back(read_result_json(f));
      label_dirs[runs.back().kernel.name].insert(d);
    }
    per_dir.push_back(std::move(runs));
  }
  std::vector<RunResult> all;
  for (std::size_t d = 0; d < dirs.size(); ++d) {
    fs::path norm = dirs[d].lexically_normal();
    std::string prefix = norm.filename().string();
    if (prefix.empty()) prefix = norm.parent_path().filename().string();  // "dir/"
    for (auto& r : per_dir[d]) {
      if (label_dirs[r.kernel.name].size() > 1) r.kernel.name = prefix + "/" + r.kernel.name;
      all.push_back(std::move(r));
    }
  }
  return all;
}

}  // namespace kh
