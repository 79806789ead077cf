#include "kernel/source.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"
#include "util/interrupt.h"

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

// "<where>: kernel 'K'": the head of every message about a kernel's source.
std::string about(const std::string& where, const KernelSpec& spec) {
  return where.empty() ? fmt::format("kernel '{}'", spec.name)
                       : fmt::format("{}: kernel '{}'", where, spec.name);
}

std::string ref_of(const KernelSpec& spec) {
  return spec.source.ref.empty() ? "HEAD" : spec.source.ref;
}

bool is_full_commit_id(const std::string& ref) {
  return ref.size() == 40 && ref.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The line of git's output that says what went wrong ("fatal: ..."), without
// the "fatal: ".
std::string git_complaint(const std::string& output) {
  std::istringstream in(output);
  std::string line, first;
  while (std::getline(in, line)) {
    for (const char* prefix : {"fatal: ", "error: "})
      if (line.rfind(prefix, 0) == 0) return first_line(line.substr(std::strlen(prefix)));
    if (first.empty()) first = first_line(line);
  }
  return first.empty() ? "no output" : first;
}

// git that talks to a server must fail rather than wait for a password:
// stdin is /dev/null, but ssh and the credential helpers open the terminal.
std::vector<std::pair<std::string, std::string>> network_env() {
  std::vector<std::pair<std::string, std::string>> env = {{"GIT_TERMINAL_PROMPT", "0"}};
  const char* ssh_command = std::getenv("GIT_SSH_COMMAND");
  const char* ssh = std::getenv("GIT_SSH");
  if ((!ssh_command || !*ssh_command) && (!ssh || !*ssh))
    env.emplace_back("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
  return env;
}

// ~ and ~user at the start of a path.
std::string expand_home(const std::string& path, const KernelSpec& spec) {
  if (path.empty() || path.front() != '~') return path;
  size_t slash = path.find('/');
  std::string user = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  std::string rest = slash == std::string::npos ? "" : path.substr(slash);
  std::string home;
  if (user.empty()) {
    const char* env = std::getenv("HOME");
    if (env && *env) home = env;
  }
  if (home.empty()) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (user.empty())
      ::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found);
    else
      ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (!found || !found->pw_dir)
      throw InputError(fmt::format("{}: source {}: {}", about(spec.source.path_where, spec), path,
                                   user.empty() ? std::string("no home folder (HOME is not set)")
                                                : fmt::format("no user '{}'", user)));
    home = found->pw_dir;
  }
  return home + rest;
}

// A local git source must be a repository's top folder (or a bare one):
// a folder inside another repository would silently build that one.
void check_repository(const KernelSpec& spec, const fs::path& folder, ProcessRunner& runner) {
  const std::string head = about(spec.source.path_where, spec);
  ProcessResult r =
      run_git(runner, folder,
              {"rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-prefix"}, head);
  std::vector<std::string> lines;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (!r.ok() || lines.size() < 2)
    throw InputError(fmt::format("{}: source {}: not a git repository", head, folder.string()));
  std::error_code ec;
  bool is_git_dir = fs::equivalent(folder, lines[1], ec);
  std::string prefix = lines.size() > 2 ? lines[2] : "";
  if (lines[0] == "true" ? !is_git_dir : (!prefix.empty() && !is_git_dir)) {
    ProcessResult top = run_git(runner, folder, {"rev-parse", "--show-toplevel"}, head);
    throw InputError(
        fmt::format("{}: source {}: not a git repository but a folder inside {} (name that folder)",
                    head, folder.string(), top.ok() ? first_line(top.output) : lines[1]));
  }
}

// The commit `ref` names in `repo`, or "".
std::string commit_of(const fs::path& repo, const std::string& ref, ProcessRunner& runner,
                      const std::string& step) {
  ProcessResult r =
      run_git(runner, repo, {"rev-parse", "--verify", "--quiet", ref + "^{commit}"}, step);
  std::string commit = first_line(r.output);
  return r.ok() && commit.size() >= 40 ? commit : "";
}

// Which URL mirrors this process brought up to date, and the commit each
// (repository or mirror, ref) was pinned to by resolve_source.
struct MirrorMemo {
  std::mutex mu;
  std::set<fs::path> updated;
  std::map<std::pair<fs::path, std::string>, std::string> pins;
};

MirrorMemo& mirror_memo() {
  static MirrorMemo memo;
  return memo;
}

// The ref to hand git for `spec` read from `source`: the commit
// resolve_source pinned it to, else the ref as the job gives it.
std::string effective_ref(const KernelSpec& spec, const fs::path& source) {
  if (spec.source.kind == SourceSpec::Kind::git) {
    MirrorMemo& memo = mirror_memo();
    std::lock_guard<std::mutex> lock(memo.mu);
    auto it = memo.pins.find({source, ref_of(spec)});
    if (it != memo.pins.end()) return it->second;
  }
  return ref_of(spec);
}

// Runs a long git command (clone, fetch) with progress every tick.
ProcessResult run_git_network(ProcessRunner& runner, std::vector<std::string> argv,
                              const std::string& subject, const std::string& what, Status& status) {
  Command cmd;
  cmd.argv = {"git"};
  cmd.argv.insert(cmd.argv.end(), argv.begin(), argv.end());
  cmd.env = network_env();
  auto start = std::chrono::steady_clock::now();
  cmd.on_tick = [&] {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    status.progress(subject, fmt::format("{} {:.0f}s", what, s));
  };
  ProcessResult r = runner.run(cmd);
  if (r.interrupted) throw Interrupted(fmt::format("{}: {}", subject, what));
  return r;
}

}  // namespace

bool is_git_url(const std::string& location) {
  for (const char* scheme : {"https://", "http://", "git://", "ssh://", "file://"})
    if (location.rfind(scheme, 0) == 0) return true;
  return false;
}

fs::path mirror_dir(const fs::path& cache, const std::string& url) {
  return cache / "git" / sha256_hex(url).substr(0, 16);
}

MirrorUpdate update_mirror(const KernelSpec& spec, ProcessRunner& runner, const fs::path& cache,
                           Status& status) {
  const std::string url = spec.source.path.string();
  const std::string ref = ref_of(spec);
  const std::string head = about(spec.source.path_where, spec);
  const std::string subject = spec.name;
  const fs::path dir = mirror_dir(cache, url);
  bool said = false;
  FileLock lock(cache / "locks" / ("git-" + dir.filename().string() + ".lock"), [&] {
    check_interrupted("waiting for the git mirror lock");
    if (!said) status.step(subject, fmt::format("waiting: another kharness is fetching {}", url));
    said = true;
  });

  // A commit id that no branch or tag reaches: ask for it by name (servers
  // that refuse leave the mirror as it was).
  auto fetch_commit_by_id = [&] {
    if (is_full_commit_id(ref) && commit_of(dir, ref, runner, head).empty())
      run_git_network(runner, {"-C", dir.string(), "fetch", "--quiet", "origin", ref}, subject,
                      fmt::format("fetching {} from {}", ref.substr(0, 12), url), status);
  };

  if (!fs::exists(dir / "HEAD")) {
    fs::path tmp = dir.string() + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    ensure_dir(dir.parent_path());
    status.step(subject, fmt::format("cloning {} into the cache (once)", url));
    ProcessResult r =
        run_git_network(runner, {"clone", "--bare", "--quiet", "--", url, tmp.string()}, subject,
                        fmt::format("cloning {}", url), status);
    if (!r.ok()) {
      fs::remove_all(tmp, ec);
      throw InputError(
          fmt::format("{}: source {}: cannot clone: {}", head, url, git_complaint(r.output)));
    }
    // A bare clone keeps no refspec: fetch every branch and tag, as the
    // server has them, on every later fetch.
    for (std::vector<std::string> args :
         {std::vector<std::string>{"config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"},
          std::vector<std::string>{"config", "--add", "remote.origin.fetch",
                                   "+refs/tags/*:refs/tags/*"}}) {
      ProcessResult c = run_git(runner, tmp, args, head);
      if (!c.ok())
        throw InfraError(
            fmt::format("{}: git config failed: {}", tmp.string(), git_complaint(c.output)));
    }
    fs::rename(tmp, dir, ec);
    if (ec)
      throw InfraError(
          fmt::format("{}: cannot move the clone into place: {}", dir.string(), ec.message()));
    fetch_commit_by_id();
    return MirrorUpdate::cloned;
  }

  if (is_full_commit_id(ref) && !commit_of(dir, ref, runner, head).empty())
    return MirrorUpdate::current;
  status.step(subject, fmt::format("fetching {}", url));
  ProcessResult r =
      run_git_network(runner, {"-C", dir.string(), "fetch", "--prune", "--quiet", "origin"},
                      subject, fmt::format("fetching {}", url), status);
  if (r.ok()) {
    fetch_commit_by_id();
    return MirrorUpdate::fetched;
  }
  if (commit_of(dir, ref, runner, head).empty())
    throw InputError(
        fmt::format("{}: source {}: cannot fetch ({}), and the cached mirror {} has no '{}'", head,
                    url, git_complaint(r.output), dir.string(), ref));
  status.warn(fmt::format("{}: source {}: cannot fetch ({}); using the cached mirror {} as it is",
                          head, url, git_complaint(r.output), dir.string()));
  return MirrorUpdate::stale;
}

fs::path resolve_source(const KernelSpec& spec, const fs::path& job_dir, ProcessRunner& runner,
                        const fs::path& cache, Status& status) {
  const std::string location = spec.source.path.string();
  const std::string head = about(spec.source.path_where, spec);
  if (location.empty()) throw InputError(fmt::format("{}: no source given", head));
  const bool git = spec.source.kind == SourceSpec::Kind::git;

  if (git && is_git_url(location)) {
    const fs::path dir = mirror_dir(cache, location);
    const std::string ref = ref_of(spec);
    MirrorMemo& memo = mirror_memo();
    std::lock_guard<std::mutex> lock(memo.mu);
    if (memo.pins.count({dir, ref})) return dir;
    if (!memo.updated.count(dir) || commit_of(dir, ref, runner, head).empty()) {
      MirrorUpdate u = update_mirror(spec, runner, cache, status);
      if (u != MirrorUpdate::current) memo.updated.insert(dir);
    }
    std::string commit = commit_of(dir, ref, runner, head);
    if (commit.empty())
      throw InputError(fmt::format("{}: source {}: no branch, tag or commit '{}'",
                                   about(spec.source.ref_where, spec), location, ref));
    memo.pins[{dir, ref}] = commit;
    return dir;
  }

  fs::path p = expand_home(location, spec);
  if (p.is_relative()) p = job_dir / p;
  p = fs::absolute(p).lexically_normal();
  std::error_code ec;
  if (!fs::exists(p, ec))
    throw InputError(
        fmt::format("{}: source {}: no such {}", head, p.string(), git ? "folder" : "file"));
  if (git) {
    MirrorMemo& memo = mirror_memo();
    std::lock_guard<std::mutex> lock(memo.mu);
    if (memo.pins.count({p, ref_of(spec)})) return p;
    check_repository(spec, p, runner);
    std::string commit = commit_of(p, ref_of(spec), runner, head);
    if (commit.empty())
      throw InputError(fmt::format("{}: source {}: no branch, tag or commit '{}'",
                                   about(spec.source.ref_where, spec), p.string(), ref_of(spec)));
    memo.pins[{p, ref_of(spec)}] = commit;
  }
  return p;
}

std::string source_identity(const KernelSpec& spec, const fs::path& source, ProcessRunner& runner,
                            const fs::path& cache) {
  if (spec.source.kind == SourceSpec::Kind::tarball) {
    if (!fs::is_regular_file(source))
      throw InputError(fmt::format("{}: source {}: not a file (a tarball is expected)",
                                   about(spec.source.path_where, spec), source.string()));
    return "tarball:" + tarball_sha(source, cache);
  }
  std::string ref = effective_ref(spec, source);
  ProcessResult r = run_git(runner, source, {"rev-parse", "--verify", "--quiet", ref + "^{tree}"},
                            fmt::format("kernel '{}'", spec.name));
  std::string tree = first_line(r.output);
  if (!r.ok() || tree.size() < 40)
    throw InputError(fmt::format("{}: source {}: no git ref '{}'",
                                 about(spec.source.ref_where, spec), source.string(), ref));
  return "git:" + tree;
}

std::string source_commit(const KernelSpec& spec, const fs::path& source, ProcessRunner& runner) {
  if (spec.source.kind != SourceSpec::Kind::git) return "";
  std::string ref = effective_ref(spec, source);
  std::string commit = commit_of(source, ref, runner, fmt::format("kernel '{}'", spec.name));
  if (commit.empty())
    throw InputError(fmt::format("{}: source {}: no git commit '{}'",
                                 about(spec.source.ref_where, spec), source.string(), ref));
  return commit;
}

std::string tree_fingerprint(const fs::path& src) {
  std::uintmax_t files = 0, bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) {
      ++files;
      bytes += it->file_size(ec);
    }
  }
  return fmt::format("{} files, {} bytes", files, bytes);
}

fs::path prepare_tree(const KernelSpec& spec, const fs::path& source, const Series* series,
                      const fs::path& tree_root, ProcessRunner& runner, Status& status) {
  fs::path src = tree_root / "src";
  fs::path stamp = tree_root / "complete";
  std::string subject = spec.name;
  if (fs::exists(stamp) && fs::is_directory(src)) {
    // A tree is trusted only as it was left: a file deleted or cut short
    // since (a cleanup, a full disk) would fail the build in a way that
    // blames the kernel. Then it is prepared again, with one warning.
    std::string text, want;
    read_file_if_exists(stamp, text);
    if (auto at = text.find("fingerprint "); at != std::string::npos)
      want = first_line(text.substr(at + 12));
    std::string have = tree_fingerprint(src);
    if (have == want) return src;
    status.warn(fmt::format("kernel '{}': the cached tree {} {}: preparing it again", spec.name,
                            src.string(),
                            want.empty() ? std::string("has no fingerprint (an older kharness)")
                                         : fmt::format("has {}, had {}", have, want)));
  }
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
    status.step(subject,
                fmt::format("git worktree {}@{}", spec.source.path.string(), spec.source.ref));
    std::string ref = effective_ref(spec, source);
    std::string commit = commit_of(source, ref, runner, step);
    if (commit.empty())
      throw InputError(fmt::format("{}: source {}: no git ref '{}'",
                                   about(spec.source.ref_where, spec), source.string(), ref));
    Command cmd;
    cmd.argv = {"git", "-C", source.string(), "worktree", "add", "--detach", src.string(), commit};
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
  write_file(stamp, fmt::format("source {}\nseries {}\nfingerprint {}\n", source.string(),
                                series ? series->name : std::string(), tree_fingerprint(src)));
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
