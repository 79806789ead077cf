// A kernel tree's working state as a commit, for `kharness exec TREE`:
// edit, then one command builds what changed and boots it.
#pragma once

#include <filesystem>
#include <string>

#include "util/process.h"

namespace kh {

// A commit whose tree is `repo`'s working tree as it is now: HEAD plus every
// change to tracked files and every untracked file .gitignore does not hide.
// Made with a private copy of the index (GIT_INDEX_FILE in `work_dir`) and
// `git commit-tree` with a fixed identity and date, so the user's index,
// refs and files are untouched (git only gains objects) and an unchanged
// tree gives the same commit again. Throws InputError when `repo` is not
// the top folder of a git work tree or has no commit, InfraError when git fails.
std::string snapshot_worktree(const std::filesystem::path& repo,
                              const std::filesystem::path& work_dir, ProcessRunner& runner);

}  // namespace kh
