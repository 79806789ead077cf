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

}  // namespace kh
