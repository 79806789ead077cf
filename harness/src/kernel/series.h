// Patch series: a folder under kernel-patches/ holding either a quilt
// `series` file (patch names in order, # comments) or one b4 mbox (*.mbx,
// *.mbox), plus an optional `series.yaml` manifest. See
// kernel-patches/README.md for the format.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/paths.h"
#include "util/process.h"

namespace kh {

struct Patch {
  std::string name;            // for messages: "0002-mm-fix.patch"
  std::filesystem::path path;  // the patch file (or one mail split from an mbox)
  int strip = 1;               // quilt's -pN
};

struct Series {
  std::string name;  // as the job names it
  std::filesystem::path dir;
  // Quilt: the patches in order. Mbox: empty until split_series().
  std::vector<Patch> patches;
  std::filesystem::path mbox;  // set for an mbox series
  // series.yaml (all optional, free text)
  std::string base, origin, description, expect;

  // The files whose bytes define the series, in order (the patches, or the
  // mbox): what the cache key hashes.
  std::vector<std::filesystem::path> content_files() const;
};

// The folder a job's `series:` names: a path (has a slash, or is absolute)
// relative to job_dir, else a folder under paths.series_root().
std::filesystem::path resolve_series_dir(const std::string& series, const Paths& paths,
                                         const std::filesystem::path& job_dir);

// Reads the series folder and its manifest. Throws InputError
// "series 'NAME': ..." for a missing folder, a patch the series file names
// but the folder lacks, no series file and no mbox, or a malformed manifest.
Series load_series(const std::string& name, const std::filesystem::path& dir);

// For an mbox series, splits the mbox with `git mailsplit` into `work_dir`
// and fills `patches` (messages without a diff, such as a cover letter, are
// skipped). Names follow format-patch: "0001-subject-words.patch". A quilt
// series is returned unchanged.
Series split_series(Series series, ProcessRunner& runner, const std::filesystem::path& work_dir);

// Applies the patches in order to `tree` with `git apply`, checking each with
// `git apply --check` first. Throws InputError "series 'NAME': patch P does
// not apply: FILE hunk @@ -a,b +c,d @@" naming the first rejected hunk.
void apply_series(const Series& series, const std::filesystem::path& tree, ProcessRunner& runner);

// Pure helpers, exposed for tests.
// "Subject: [PATCH v4 02/28] mm: memcontrol: x" -> "mm-memcontrol-x".
std::string patch_slug(const std::string& subject);
// From `git apply` output and the patch text: "FILE hunk @@ ... @@", or the
// first error line without "error: " when no hunk is named.
std::string describe_apply_failure(const std::string& git_output, const std::string& patch_text);

}  // namespace kh
