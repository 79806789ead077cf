// Kernel sources: a tarball or a git tree at a ref, turned into one stable,
// patched source folder per (source, series) under the cache. The user's
// checkout is never touched: git sources go through `git worktree add`.
#pragma once

#include <filesystem>
#include <string>

#include "core/job.h"
#include "kernel/series.h"
#include "util/process.h"
#include "util/status.h"

namespace kh {

// Whether a git: source is a URL that kharness clones (https://, http://,
// git://, ssh://, file://) rather than a folder.
bool is_git_url(const std::string& location);

// The local file or folder a kernel's source is read from: the `source`
// argument of everything below.
// - A path may start with ~ or ~user; a relative one is relative to job_dir.
//   A git folder must be a repository's top folder (or a bare repository),
//   not a folder inside one, and must hold the ref.
// - A git URL resolves to a bare mirror, <cache>/git/<hash of the URL>,
//   brought up to date by update_mirror at most once per URL and process.
// A git ref is then pinned: every later call and every function below use
// the commit it named at that moment, so all kernel × arch builds of a job
// build one commit even if the branch moves meanwhile (a commit in the
// developer's tree, another kharness fetching the mirror).
// Throws InputError "<job>:<line>:<col>: kernel 'K': source S: ..." (the
// position of git:/tarball: or of ref: in the job, SourceSpec::path_where /
// ref_where) for a missing file, a folder that is not a repository, a URL
// that cannot be cloned and a ref the repository lacks; Interrupted on Ctrl-C.
std::filesystem::path resolve_source(const KernelSpec& spec, const std::filesystem::path& job_dir,
                                     ProcessRunner& runner, const std::filesystem::path& cache,
                                     Status& status);

// <cache>/git/<first 16 hex digits of sha256(url)>: a URL's bare mirror.
std::filesystem::path mirror_dir(const std::filesystem::path& cache, const std::string& url);

enum class MirrorUpdate {
  cloned,   // there was no mirror: cloned now
  fetched,  // fetched now
  current,  // not fetched: the ref is a full commit id the mirror holds
  stale,    // the fetch failed but the mirror holds the ref: warned, used as is
};

// Brings the bare mirror of spec's URL up to date for its ref, under
// <cache>/locks/git-<hash>.lock: clones it when missing (into a temporary
// folder renamed when whole), else fetches every branch and tag (pruning
// deleted ones) unless the ref is a full commit id already there. A full
// commit id no branch or tag reaches is fetched by itself. git never
// prompts: a URL that wants a password fails like an unreachable one.
// Throws InputError (as resolve_source) when the clone fails, or when the
// fetch fails and the mirror lacks the ref. Each call may go to the network;
// resolve_source is what calls it once per process.
MirrorUpdate update_mirror(const KernelSpec& spec, ProcessRunner& runner,
                           const std::filesystem::path& cache, Status& status);

// "tarball:<sha256 of the file>" or "git:<tree id of REF>". The tarball's
// hash is memoised under <cache>/source-ids/, keyed by path, size and mtime.
// Throws InputError for a missing source or an unknown ref.
std::string source_identity(const KernelSpec& spec, const std::filesystem::path& source,
                            ProcessRunner& runner, const std::filesystem::path& cache);

// The commit REF names in a git source (40 hex digits; the one
// resolve_source pinned), or "" for a tarball. Throws InputError for an
// unknown ref.
std::string source_commit(const KernelSpec& spec, const std::filesystem::path& source,
                          ProcessRunner& runner);

// Prepares <tree_root>/src: extracts the tarball (or adds a detached git
// worktree) and applies the series, then writes <tree_root>/complete with
// the tree's fingerprint. A tree without that stamp (an interrupted
// extraction or a failed patch), or whose files no longer match its
// fingerprint (one deleted or cut short since; warned about), is removed
// and redone; an intact one is returned as is.
std::filesystem::path prepare_tree(const KernelSpec& spec, const std::filesystem::path& source,
                                   const Series* series, const std::filesystem::path& tree_root,
                                   ProcessRunner& runner, Status& status);

// "<n> files, <bytes> bytes": the regular files under `src` (not .git),
// cheap enough to check before every build (~80k files: a fraction of a
// second), and changed by any deletion or truncation.
std::string tree_fingerprint(const std::filesystem::path& src);

// Incremental builds (bisect): one persistent detached worktree of a git
// repository at a stable path, <cache>/trees/wt-<id>/src, so the build
// folder beside it (build-<arch>) stays valid from one commit to the next:
// kbuild ties O= to the source's absolute path. <id> hashes the repository's
// common git folder, so every command on one repository shares it.
std::string persistent_tree_id(const std::filesystem::path& repo, ProcessRunner& runner);

// Makes sure the persistent worktree `src` of `repo` exists (adding it at
// `commit` when it is missing or broken) and checks `commit` out in it,
// detached and forced (the worktree is kharness's own). Only the files that
// differ get a new mtime, so make rebuilds only what they touch. Throws
// InputError for an unknown commit, InfraError when git fails.
void checkout_persistent_tree(const std::filesystem::path& repo, const std::filesystem::path& src,
                              const std::string& commit, ProcessRunner& runner, Status& status);

}  // namespace kh
