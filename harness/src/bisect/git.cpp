#include "bisect/git.h"

#include <fmt/format.h>

#include <sstream>

#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {

Commit resolve_commit(const fs::path& repo, const std::string& ref, const std::string& flag,
                      ProcessRunner& runner) {
  ProcessResult r =
      run_git(runner, repo, {"log", "-1", "--format=%H%x09%s", ref + "^{commit}", "--"});
  std::string line = first_line(r.output);
  size_t tab = line.find('\t');
  if (!r.ok() || tab != 40)
    throw InputError(fmt::format("{} {}: no such commit in {}", flag, ref, repo.string()));
  return Commit{line.substr(0, tab), line.substr(tab + 1), ""};
}

std::vector<Commit> first_parent_path(const fs::path& repo, const Commit& good, const Commit& bad,
                                      ProcessRunner& runner) {
  ProcessResult anc = run_git(runner, repo, {"merge-base", "--is-ancestor", good.sha, bad.sha});
  if (anc.exit_code != 0)
    throw InputError(fmt::format("--good {} is not an ancestor of --bad {}", short_sha(good.sha),
                                 short_sha(bad.sha)));
  ProcessResult r = run_git(runner, repo,
                            {"log", "--reverse", "--first-parent", "--ancestry-path",
                             "--format=%H%x09%s", bad.sha, "^" + good.sha, "--"});
  if (!r.ok())
    throw InfraError(fmt::format("git log {}..{} failed: {}", short_sha(good.sha),
                                 short_sha(bad.sha), first_line(r.output)));
  std::vector<Commit> out;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab != 40) continue;
    out.push_back(Commit{line.substr(0, tab), line.substr(tab + 1), ""});
  }
  if (out.empty() || out.back().sha != bad.sha)
    throw InputError(fmt::format("--bad {} is not on a first-parent line from --good {}",
                                 short_sha(bad.sha), short_sha(good.sha)));
  return out;
}

std::string patch_subject(const std::string& text, const std::string& file_name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Subject:", 0) != 0) continue;
    std::string s = line.substr(8);
    size_t b = s.find_first_not_of(' ');
    s = b == std::string::npos ? "" : s.substr(b);
    if (!s.empty() && s.front() == '[') {
      size_t close = s.find(']');
      if (close != std::string::npos) s = s.substr(close + 1);
      b = s.find_first_not_of(' ');
      s = b == std::string::npos ? "" : s.substr(b);
    }
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (!s.empty()) return s;
  }
  return file_name;
}

std::vector<Commit> commit_series(const fs::path& repo, const Commit& base, const Series& series,
                                  const fs::path& work_dir, ProcessRunner& runner) {
  Series split = split_series(series, runner, work_dir / "patches");
  ensure_dir(work_dir);
  const fs::path index = fs::absolute(work_dir / "index");
  std::error_code ec;
  fs::remove(index, ec);
  // Fixed identity and dates: the commits (and so the log) are the same
  // every time this series is checked on this base.
  std::vector<std::pair<std::string, std::string>> env = {
      {"GIT_INDEX_FILE", index.string()},
      {"GIT_AUTHOR_NAME", "kharness series"},
      {"GIT_AUTHOR_EMAIL", "kharness@localhost"},
      {"GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z"},
      {"GIT_COMMITTER_NAME", "kharness series"},
      {"GIT_COMMITTER_EMAIL", "kharness@localhost"},
      {"GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z"}};
  ProcessResult rt = run_git(runner, repo, {"read-tree", base.sha}, "", env);
  if (!rt.ok())
    throw InfraError(
        fmt::format("git read-tree {} failed: {}", short_sha(base.sha), first_line(rt.output)));
  std::vector<Commit> out;
  std::string parent = base.sha;
  for (const auto& patch : split.patches) {
    std::string text = read_file(patch.path);
    std::string strip = fmt::format("-p{}", patch.strip);
    ProcessResult check = run_git(
        runner, repo, {"apply", "--cached", "--check", strip, fs::absolute(patch.path).string()},
        "", env);
    if (!check.ok())
      throw InputError(fmt::format("series '{}': patch {} does not apply on {}: {}", series.name,
                                   patch.name, short_sha(base.sha),
                                   describe_apply_failure(check.output, text)));
    ProcessResult ap = run_git(
        runner, repo, {"apply", "--cached", strip, fs::absolute(patch.path).string()}, "", env);
    if (!ap.ok())
      throw InfraError(fmt::format("series '{}': git apply {} failed: {}", series.name, patch.name,
                                   first_line(ap.output)));
    ProcessResult wt = run_git(runner, repo, {"write-tree"}, "", env);
    if (!wt.ok()) throw InfraError(fmt::format("git write-tree failed: {}", first_line(wt.output)));
    std::string subject = patch_subject(text, patch.name);
    ProcessResult ct =
        run_git(runner, repo,
                {"commit-tree", first_line(wt.output), "-p", parent, "-m",
                 fmt::format("{}\n\nkharness series check: {}", subject, patch.name)},
                "", env);
    if (!ct.ok())
      throw InfraError(fmt::format("git commit-tree failed: {}", first_line(ct.output)));
    parent = first_line(ct.output);
    out.push_back(Commit{parent, subject, patch.name});
  }
  fs::remove(index, ec);
  return out;
}

}  // namespace kh
