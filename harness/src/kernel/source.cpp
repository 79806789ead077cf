#include "kernel/source.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <sstream>

#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// sha256 of a file, memoised by (path, size, mtime): hashing a 140 MB
// tarball on every run costs seconds.
std::string tarball_sha(const fs::path& tarball, const fs::path& cache) {
  struct stat st {};
  if (::stat(tarball.c_str(), &st) != 0)
    throw InfraError(fmt::format("{}: cannot stat", tarball.string()));
  std::string stamp = fmt::format(
      "{} {} {}.{}", tarball.string(), static_cast<long long>(st.st_size),
      static_cast<long long>(st.st_mtim.tv_sec), static_cast<long long>(st.st_mtim.tv_nsec));
  fs::path memo = cache / "source-ids" / sha256_hex(tarball.string()).substr(0, 32);
  std::string text;
  if (read_file_if_exists(memo, text)) {
    size_t nl = text.find('\n');
    if (nl != std::string::npos && text.substr(0, nl) == stamp) {
      std::string sha = first_line(text.substr(nl + 1));
      if (sha.size() == 64) return sha;
    }
  }
  std::string sha = Hasher().feed_file(tarball).hex();
  write_file(memo, stamp + "\n" + sha + "\n");
  return sha;
}

}  // namespace

fs::path resolve_source(const KernelSpec& spec, const fs::path& job_dir) {
  fs::path p = spec.source.path;
  if (p.empty()) throw InputError(fmt::format("kernel '{}': no source given", spec.name));
  if (p.is_relative()) p = job_dir / p;
  p = fs::absolute(p).lexically_normal();
  std::error_code ec;
  if (!fs::exists(p, ec))
    throw InputError(fmt::format("kernel '{}': source {}: no such file", spec.name, p.string()));
  return p;
}

std::string source_identity(const KernelSpec& spec, const fs::path& source, ProcessRunner& runner,
                            const fs::path& cache) {
  if (spec.source.kind == SourceSpec::Kind::tarball) {
    if (!fs::is_regular_file(source))
      throw InputError(fmt::format("kernel '{}': source {}: not a file (a tarball is expected)",
                                   spec.name, source.string()));
    return "tarball:" + tarball_sha(source, cache);
  }
  std::string ref = spec.source.ref.empty() ? "HEAD" : spec.source.ref;
  ProcessResult r = run_git(runner, source, {"rev-parse", "--verify", "--quiet", ref + "^{tree}"},
                            fmt::format("kernel '{}'", spec.name));
  std::string tree = first_line(r.output);
  if (!r.ok() || tree.size() < 40)
    throw InputError(
        fmt::format("kernel '{}': source {}: no git ref '{}'", spec.name, source.string(), ref));
  return "git:" + tree;
}

std::string source_commit(const KernelSpec& spec, const fs::path& source, ProcessRunner& runner) {
  if (spec.source.kind != SourceSpec::Kind::git) return "";
  std::string ref = spec.source.ref.empty() ? "HEAD" : spec.source.ref;
  ProcessResult r = run_git(runner, source, {"rev-parse", "--verify", "--quiet", ref + "^{commit}"},
                            fmt::format("kernel '{}'", spec.name));
  std::string commit = first_line(r.output);
  if (!r.ok() || commit.size() < 40)
    throw InputError(
        fmt::format("kernel '{}': source {}: no git commit '{}'", spec.name, source.string(), ref));
  return commit;
}

fs::path prepare_tree(const KernelSpec& spec, const fs::path& source, const Series* series,
                      const fs::path& tree_root, ProcessRunner& runner, Status& status) {
  fs::path src = tree_root / "src";
  fs::path stamp = tree_root / "complete";
  if (fs::exists(stamp) && fs::is_directory(src)) return src;
  std::string subject = spec.name;
  std::string step = fmt::format("kernel '{}'", spec.name);
  bool git = spec.source.kind == SourceSpec::Kind::git;

  // Whatever is there is a leftover of an interrupted or failed attempt.
  std::error_code ec;
  if (fs::exists(src)) {
    if (git) run_git(runner, source, {"worktree", "remove", "--force", src.string()}, step);
    fs::remove_all(src, ec);
    if (ec)
      throw InfraError(
          fmt::format("{}: cannot remove a stale tree: {}", src.string(), ec.message()));
  }
  if (git) run_git(runner, source, {"worktree", "prune"}, step);
  ensure_dir(tree_root);

  auto start = std::chrono::steady_clock::now();
  auto tick = [&] {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    status.progress(subject, fmt::format("{} {:.0f}s", git ? "checking out" : "extracting", s));
  };
  if (git) {
    status.step(subject, fmt::format("git worktree {}@{}", source.string(), spec.source.ref));
    std::string ref = spec.source.ref.empty() ? "HEAD" : spec.source.ref;
    ProcessResult c =
        run_git(runner, source, {"rev-parse", "--verify", "--quiet", ref + "^{commit}"}, step);
    if (!c.ok())
      throw InputError(
          fmt::format("kernel '{}': source {}: no git ref '{}'", spec.name, source.string(), ref));
    Command cmd;
    cmd.argv = {"git", "-C",       source.string(), "worktree",
                "add", "--detach", src.string(),    first_line(c.output)};
    cmd.on_tick = tick;
    ProcessResult r = runner.run(cmd);
    if (r.interrupted) throw Interrupted(step);
    if (!r.ok())
      throw InfraError(fmt::format("kernel '{}': git worktree add {} failed: {}", spec.name,
                                   src.string(), first_line(r.output)));
  } else {
    status.step(subject, fmt::format("extracting {}", source.filename().string()));
    ensure_dir(src);
    Command cmd;
    cmd.argv = {"tar", "-xf", source.string(), "-C", src.string(), "--strip-components=1"};
    cmd.on_tick = tick;
    ProcessResult r = runner.run(cmd);
    if (r.interrupted) throw Interrupted(step);
    if (!r.ok())
      throw InfraError(fmt::format("kernel '{}': extracting {} failed (tar exit {}): {}", spec.name,
                                   source.string(), r.exit_code, first_line(r.output)));
  }

  if (series && (!series->patches.empty() || !series->mbox.empty())) {
    Series split = split_series(*series, runner, tree_root / "patches");
    status.step(subject, fmt::format("applying series '{}' ({} patch{})", series->name,
                                     split.patches.size(), split.patches.size() == 1 ? "" : "es"));
    apply_series(split, src, runner);
  }
  write_file(stamp, fmt::format("source {}\nseries {}\n", source.string(),
                                series ? series->name : std::string()));
  return src;
}

std::string persistent_tree_id(const fs::path& repo, ProcessRunner& runner) {
  ProcessResult r = run_git(
      runner, repo, {"rev-parse", "--path-format=absolute", "--git-common-dir"}, "git rev-parse");
  if (!r.ok())
    throw InputError(
        fmt::format("{}: not a git repository: {}", repo.string(), first_line(r.output)));
  return "wt-" + sha256_hex(first_line(r.output)).substr(0, 16);
}

void checkout_persistent_tree(const fs::path& repo, const fs::path& src, const std::string& commit,
                              ProcessRunner& runner, Status& status) {
  const std::string step = fmt::format("worktree {}", src.string());
  ProcessResult c =
      run_git(runner, repo, {"rev-parse", "--verify", "--quiet", commit + "^{commit}"}, step);
  if (!c.ok()) throw InputError(fmt::format("{}: no git commit '{}'", repo.string(), commit));
  std::string sha = first_line(c.output);
  // A worktree git still knows and whose folder is whole: reuse it.
  bool usable = fs::exists(src / ".git") &&
                run_git(runner, src, {"rev-parse", "--verify", "--quiet", "HEAD"}, step).ok();
  if (!usable) {
    std::error_code ec;
    if (fs::exists(src))
      run_git(runner, repo, {"worktree", "remove", "--force", src.string()}, step);
    fs::remove_all(src, ec);
    run_git(runner, repo, {"worktree", "prune"}, step);
    ensure_dir(src.parent_path());
    status.step(step, fmt::format("git worktree add {}", sha.substr(0, 12)));
    ProcessResult r =
        run_git(runner, repo, {"worktree", "add", "--detach", src.string(), sha}, step);
    if (!r.ok())
      throw InfraError(
          fmt::format("git worktree add {} failed: {}", src.string(), first_line(r.output)));
    return;
  }
  ProcessResult r = run_git(runner, src, {"checkout", "--quiet", "--force", "--detach", sha}, step);
  if (!r.ok())
    throw InfraError(
        fmt::format("git checkout {} in {} failed: {}", sha, src.string(), first_line(r.output)));
}

}  // namespace kh
