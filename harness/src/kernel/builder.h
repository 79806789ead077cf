// Kernel builds: source -> series -> config -> make -> Artifact, cached by a
// content key so that a second run with nothing changed runs no make at all.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/job.h"
#include "core/paths.h"
#include "kernel/artifact.h"
#include "util/files.h"
#include "util/process.h"
#include "util/status.h"

namespace kh {

// Where a git source is built (see set_tree_mode).
enum class TreeMode {
  per_source,  // one worktree per (source, series), made once: `run`, `build`
  // One persistent worktree per repository (kernel/source.h), each ref
  // checked out there in turn and made in the same build folder: only the
  // files a commit changes are rebuilt. For bisect; takes no series.
  persistent_worktree,
};

// KCIDB's patchset hash: sha256 over the newline-terminated sha256 of each
// patch, in order ("sha256sum *.patch | cut -c-64 | sha256sum"); "" for none.
std::string patchset_hash(const std::vector<std::string>& patches);

class KernelBuilder {
 public:
  KernelBuilder(ProcessRunner& runner, Status& status, Paths paths, int jobs);

  // Default per_source. Tarball sources ignore it.
  void set_tree_mode(TreeMode mode) { tree_mode_ = mode; }

  // Builds `spec` for `arch`, or returns the cached artifact. Throws
  // InputError for a missing source, a series that does not apply (naming
  // the patch and the rejected hunk) or fragment symbols lost in the merge
  // (listing them); InfraError for a failed make (naming the log) or a full
  // disk; Interrupted on Ctrl-C (the partial build folder stays for reuse).
  // `timeout` bounds make (0: none); exceeding it is an InfraError.
  // `workload_config`: the job's workload fragments (core/plan.h), merged
  // after the base fragments and before the kernel's own; symbols they lose
  // do not fail the build (the executor skips those workloads' runs).
  Artifact build(const KernelSpec& spec, const ArchInfo& arch, const std::filesystem::path& job_dir,
                 std::chrono::seconds timeout = std::chrono::seconds(0),
                 const std::vector<std::filesystem::path>& workload_config = {});

  // tools/testing/selftests/<target> of the same tree, built statically
  // for `arch` against the tree's own UAPI headers, after build() (same
  // arguments): returns the folder of programs, cached beside the artifact.
  // Throws InputError when the tree has no such target, InfraError when
  // make fails (naming the log), Interrupted on Ctrl-C.
  std::filesystem::path build_selftests(const KernelSpec& spec, const ArchInfo& arch,
                                        const std::filesystem::path& job_dir,
                                        const std::vector<std::filesystem::path>& workload_config,
                                        const std::string& target,
                                        std::chrono::seconds timeout = std::chrono::seconds(0));

  // The content key without building: source identity, series contents,
  // fragment contents in merge order, arch, compiler version, recipe version.
  std::string cache_key(const KernelSpec& spec, const ArchInfo& arch,
                        const std::filesystem::path& job_dir,
                        const std::vector<std::filesystem::path>& workload_config = {});

 private:
  struct Inputs;  // everything the key depends on, resolved (builder.cpp)
  Inputs resolve(const KernelSpec& spec, const ArchInfo& arch, const std::filesystem::path& job_dir,
                 const std::vector<std::filesystem::path>& workload_config);
  const std::string& compiler_version(std::string_view compiler);
  // Fills the artifact's identity fields (source, commit, series and
  // config hashes) from the resolved inputs.
  Artifact identify(Artifact a, const KernelSpec& spec, const Inputs& in);
  // One build at a time per source tree, across kharness processes
  // (cache/locks/<tree>.lock); `waited` is set when another held it.
  FileLock lock_tree(const std::string& tree_id, const std::string& subject,
                     bool* waited = nullptr);
  // ARCH, CROSS_COMPILE, TMPDIR and the ccache settings for make in
  // `build_dir`; second: whether ccache is there.
  std::pair<std::vector<std::pair<std::string, std::string>>, bool> build_env(
      const ArchInfo& arch, const std::filesystem::path& build_dir);

  ProcessRunner& runner_;
  Status& status_;
  Paths paths_;
  int jobs_;
  TreeMode tree_mode_ = TreeMode::per_source;
  std::map<std::string, std::string, std::less<>> compiler_versions_;  // memo per compiler
  bool warned_no_ccache_ = false;
};

}  // namespace kh
