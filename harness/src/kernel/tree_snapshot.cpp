#include "kernel/tree_snapshot.h"

#include <fmt/format.h>

#include "util/error.h"
#include "util/files.h"

namespace kh {

std::string snapshot_worktree(const std::filesystem::path& repo,
                              const std::filesystem::path& work_dir, ProcessRunner& runner) {
  ProcessResult top = run_git(runner, repo, {"rev-parse", "--show-toplevel"});
  std::error_code ec;
  if (!top.ok() ||
      !std::filesystem::equivalent(first_line(top.output), std::filesystem::absolute(repo), ec))
    throw InputError(fmt::format(
        "{}: not the top folder of a git work tree (kharness builds a tree from git; for an "
        "extracted tarball: git init && git add -A -f && git commit -m base)",
        repo.string()));
  ProcessResult head = run_git(runner, repo, {"rev-parse", "--verify", "HEAD^{commit}"});
  if (!head.ok())
    throw InputError(fmt::format("{}: the repository has no commit yet", repo.string()));
  ProcessResult index_path = run_git(runner, repo, {"rev-parse", "--git-path", "index"});
  if (!index_path.ok())
    throw InfraError(fmt::format("{}: git rev-parse --git-path index failed", repo.string()));

  ensure_dir(work_dir);
  const std::filesystem::path index = std::filesystem::absolute(work_dir / "index");
  std::filesystem::path theirs = first_line(index_path.output);
  if (theirs.is_relative()) theirs = std::filesystem::absolute(repo) / theirs;
  // A copy of their index keeps its stat data, so `git add -A` hashes only
  // the files that changed (a fresh index would hash all 80,000).
  std::filesystem::remove(index, ec);
  if (std::filesystem::exists(theirs, ec))
    std::filesystem::copy_file(theirs, index, std::filesystem::copy_options::overwrite_existing);
  const std::vector<std::pair<std::string, std::string>> env = {
      {"GIT_INDEX_FILE", index.string()},
      {"GIT_AUTHOR_NAME", "kharness exec"},
      {"GIT_AUTHOR_EMAIL", "kharness@localhost"},
      {"GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z"},
      {"GIT_COMMITTER_NAME", "kharness exec"},
      {"GIT_COMMITTER_EMAIL", "kharness@localhost"},
      {"GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z"}};
  if (!std::filesystem::exists(index, ec)) {
    ProcessResult rt = run_git(runner, repo, {"read-tree", "HEAD"}, "", env);
    if (!rt.ok())
      throw InfraError(fmt::format("git read-tree HEAD failed: {}", first_line(rt.output)));
  }
  ProcessResult add = run_git(runner, repo, {"add", "-A"}, "", env);
  if (!add.ok())
    throw InfraError(fmt::format("{}: git add -A (private index) failed: {}", repo.string(),
                                 first_line(add.output)));
  ProcessResult tree = run_git(runner, repo, {"write-tree"}, "", env);
  if (!tree.ok())
    throw InfraError(fmt::format("git write-tree failed: {}", first_line(tree.output)));
  const std::string head_sha = first_line(head.output);
  ProcessResult head_tree = run_git(runner, repo, {"rev-parse", head_sha + "^{tree}"});
  // Nothing changed: HEAD itself, so the build is the one of that commit.
  if (head_tree.ok() && first_line(head_tree.output) == first_line(tree.output)) return head_sha;
  ProcessResult commit = run_git(runner, repo,
                                 {"commit-tree", first_line(tree.output), "-p", head_sha, "-m",
                                  "kharness exec: the working tree"},
                                 "", env);
  if (!commit.ok())
    throw InfraError(fmt::format("git commit-tree failed: {}", first_line(commit.output)));
  std::filesystem::remove(index, ec);
  return first_line(commit.output);
}

}  // namespace kh
