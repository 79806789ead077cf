// What bisect asks git: commits and subjects, the first-parent path between
// the ends, and a series turned into commits. Only reads the user's
// repository, or adds objects to it: no checkout, no ref, no index of theirs
// is touched.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bisect/bisect.h"
#include "kernel/series.h"
#include "util/process.h"

namespace kh {

// REF's commit and subject. Throws InputError "--FLAG REF: no such commit in REPO".
Commit resolve_commit(const std::filesystem::path& repo, const std::string& ref,
                      const std::string& flag, ProcessRunner& runner);

// The commits after `good` up to and including `bad`, oldest first, along
// bad's first-parent line (`git rev-list --first-parent --ancestry-path
// bad ^good`): a merge counts as one commit. Throws InputError when good is
// not an ancestor of bad.
std::vector<Commit> first_parent_path(const std::filesystem::path& repo, const Commit& good,
                                      const Commit& bad, ProcessRunner& runner);

// Makes one commit per patch of `series` on top of `base`, in order, with a
// private index (GIT_INDEX_FILE in `work_dir`) and `git commit-tree`, so no
// worktree changes. Author, committer and dates are fixed: the same series
// on the same base gives the same commits. Subjects come from the patches'
// Subject: lines, labels are the patch names. Throws InputError naming the
// patch and hunk that does not apply.
std::vector<Commit> commit_series(const std::filesystem::path& repo, const Commit& base,
                                  const Series& series, const std::filesystem::path& work_dir,
                                  ProcessRunner& runner);

// The subject of a patch file: its first "Subject:" line without the
// "[PATCH n/m]" prefix, else the file name.
std::string patch_subject(const std::string& patch_text, const std::string& file_name);

}  // namespace kh
