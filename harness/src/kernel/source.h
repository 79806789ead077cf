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

// The source path, absolute (relative paths resolve against job_dir).
// Throws InputError "kernel 'NAME': source /path: no such file".
std::filesystem::path resolve_source(const KernelSpec& spec, const std::filesystem::path& job_dir);

// "tarball:<sha256 of the file>" or "git:<tree id of REF>". The tarball's
// hash is memoised under <cache>/source-ids/, keyed by path, size and mtime.
// Throws InputError for a missing source or an unknown ref.
std::string source_identity(const KernelSpec& spec, const std::filesystem::path& source,
                            ProcessRunner& runner, const std::filesystem::path& cache);

// The commit REF names in a git source (40 hex digits), or "" for a
// tarball. Throws InputError for an unknown ref.
std::string source_commit(const KernelSpec& spec, const std::filesystem::path& source,
                          ProcessRunner& runner);

// Prepares <tree_root>/src: extracts the tarball (or adds a detached git
// worktree) and applies the series, then writes <tree_root>/complete. A tree
// without that stamp (an interrupted extraction or a failed patch) is
// removed and redone; a complete one is returned as is.
std::filesystem::path prepare_tree(const KernelSpec& spec, const std::filesystem::path& source,
                                   const Series* series, const std::filesystem::path& tree_root,
                                   ProcessRunner& runner, Status& status);

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
