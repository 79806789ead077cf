#include "kernel/builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "kernel/cache.h"
#include "kernel/kconfig.h"
#include "kernel/series.h"
#include "kernel/source.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"
#include "util/interrupt.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

// A source tree plus a build folder take about 2.5 GiB; a build folder alone
// about 1 GiB.
constexpr std::uint64_t kTreeAndBuildBytes = 2560ull << 20;
constexpr std::uint64_t kBuildBytes = 1024ull << 20;

}  // namespace

// Not in the anonymous namespace: KernelBuilder::Inputs (declared in the
// header) holds them, and a member of an internal type is a warning (an
// error here) once this file is compiled inside a unity file.
namespace builder_detail {
struct Fragment {
  fs::path path;
  std::string origin;  // for messages
  std::string bytes;
  // A workload's fragment: symbols it loses do not fail the build; the runs
  // of that workload are skipped instead (engine/judge.cpp).
  bool from_workload = false;
};
}  // namespace builder_detail
using builder_detail::Fragment;

namespace {

// Job fragments: a bare name is configs/kernel/<name>.config; anything with a
// slash or a .config suffix is a path relative to the job.
Fragment load_fragment(const std::string& kernel, const std::string& name, const Paths& paths,
                       const fs::path& job_dir) {
  bool is_path = name.find('/') != std::string::npos ||
                 (name.size() > 7 && name.substr(name.size() - 7) == ".config");
  fs::path path = is_path ? fs::path(name) : paths.kernel_configs() / (name + ".config");
  if (path.is_relative()) path = job_dir / path;
  path = fs::absolute(path).lexically_normal();
  Fragment f;
  f.path = path;
  f.origin = is_path ? name : path.lexically_relative(paths.root).string();
  if (!read_file_if_exists(path, f.bytes))
    throw InputError(fmt::format("kernel '{}': config fragment '{}': {}: no such file", kernel,
                                 name, path.string()));
  return f;
}

// Follows make's output in build.log: counts "  CC " lines and remembers the
// last object, for the progress line.
class LogFollower {
 public:
  explicit LogFollower(fs::path log) : log_(std::move(log)) {}
  void poll() {
    std::ifstream in(log_, std::ios::binary);
    if (!in) return;
    in.seekg(offset_);
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += static_cast<std::streamoff>(chunk.size());
    partial_ += chunk;
    size_t pos;
    while ((pos = partial_.find('\n')) != std::string::npos) {
      std::string line = partial_.substr(0, pos);
      partial_.erase(0, pos + 1);
      if (line.rfind("  CC ", 0) == 0) {
        ++cc_lines_;
        size_t obj = line.find_last_of(' ');
        last_object_ = line.substr(obj + 1);
      }
    }
  }
  int cc_lines() const { return cc_lines_; }
  const std::string& last_object() const { return last_object_; }

 private:
  fs::path log_;
  std::streamoff offset_ = 0;
  std::string partial_;
  int cc_lines_ = 0;
  std::string last_object_;
};

// The first compiler/linker error in a make log, else make's own "***" line.
std::string first_error(const fs::path& log) {
  std::ifstream in(log);
  std::string line, stars;
  while (std::getline(in, line)) {
    if (line.find("error:") != std::string::npos || line.find("Error:") != std::string::npos) {
      return line.size() > 300 ? line.substr(0, 300) + "..." : line;
    }
    if (stars.empty() && line.find("***") != std::string::npos) stars = line;
  }
  return stars.empty() ? "(none found)" : stars;
}

using Env = std::vector<std::pair<std::string, std::string>>;

// make in the kernel tree, building into `build_dir` for `arch` (O=, ARCH=,
// CROSS_COMPILE=), then `args`.
Command kbuild_make(const fs::path& src, const fs::path& build_dir, const ArchInfo& arch,
                    const Env& env, std::vector<std::string> args) {
  Command cmd;
  cmd.argv = {"make", "O=" + build_dir.string(), "ARCH=" + std::string(arch.kernel_arch)};
  if (!arch.cross_compile.empty())
    cmd.argv.push_back("CROSS_COMPILE=" + std::string(arch.cross_compile));
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.cwd = src;
  cmd.env = env;
  return cmd;
}

// Runs one step of a build: a make, or the tree's merge_config.sh (which
// runs make itself). `what` names it in errors ("build of linux-6.1/x86_64").
// Returns the captured output ("" when it went to cmd.output). Throws
// Interrupted(what) on Ctrl-C, and InfraError when it outlives cmd.timeout
// or fails: "<what> failed (make exit N); last error: <the first error line
// of its log, or its first output line>; full log: <cmd.output>".
std::string run_make(ProcessRunner& runner, const Command& cmd, const std::string& what) {
  ProcessResult r = runner.run(cmd);
  if (r.interrupted) throw Interrupted(what);
  const bool logged = !cmd.output.empty();
  const std::string log = logged ? fmt::format("; full log: {}", cmd.output.string()) : "";
  if (r.timed_out)
    throw InfraError(
        fmt::format("{} took longer than timeouts.build ({} s){}", what,
                    std::chrono::duration_cast<std::chrono::seconds>(cmd.timeout).count(), log));
  if (!r.ok()) {
    const std::string program =
        cmd.argv.at(0) == "make" ? "make" : fs::path(cmd.argv.at(1)).filename().string();
    throw InfraError(fmt::format("{} failed ({} exit {}); last error: {}{}", what, program,
                                 r.exit_code,
                                 logged ? first_error(cmd.output) : first_line(r.output), log));
  }
  return r.output;
}

std::string format_seconds(double s) {
  int total = static_cast<int>(s);
  return total >= 60 ? fmt::format("{}m{:02d}s", total / 60, total % 60)
                     : fmt::format("{}s", total);
}

}  // namespace

struct KernelBuilder::Inputs {
  fs::path source;
  std::optional<Series> series;
  std::vector<Fragment> fragments;  // merge order
  KeyInputs key_inputs;
  std::string key;
  std::string tree_id;  // source + series: one stable source folder each
};

KernelBuilder::KernelBuilder(ProcessRunner& runner, Status& status, Paths paths, int jobs)
    : runner_(runner), status_(status), paths_(std::move(paths)), jobs_(jobs > 0 ? jobs : 1) {}

const std::string& KernelBuilder::compiler_version(std::string_view compiler) {
  auto it = compiler_versions_.find(compiler);
  if (it != compiler_versions_.end()) return it->second;
  Command cmd;
  cmd.argv = {std::string(compiler), "--version"};
  ProcessResult r = runner_.run(cmd);
  if (r.interrupted) throw Interrupted(std::string(compiler) + " --version");
  if (!r.ok())
    throw InfraError(fmt::format("{} --version failed (exit {}): {}", compiler, r.exit_code,
                                 first_line(r.output)));
  return compiler_versions_.emplace(std::string(compiler), first_line(r.output)).first->second;
}

KernelBuilder::Inputs KernelBuilder::resolve(const KernelSpec& spec, const ArchInfo& arch,
                                             const fs::path& job_dir,
                                             const std::vector<fs::path>& workload_config) {
  Inputs in;
  in.source = resolve_source(spec, job_dir, runner_, paths_.cache, status_);
  if (!spec.series.empty()) {
    in.series = load_series(spec.series, resolve_series_dir(spec.series, paths_, job_dir));
  }
  for (const auto& base :
       {std::string("base"), std::string(arch.config_fragment), std::string("memcg")}) {
    std::string name = base;
    if (name.size() > 7 && name.substr(name.size() - 7) == ".config") name.resize(name.size() - 7);
    in.fragments.push_back(load_fragment(spec.name, name, paths_, job_dir));
  }
  for (const auto& path : workload_config) {
    Fragment f;
    f.path = path;
    f.origin = path.lexically_relative(paths_.root).string();
    if (f.origin.empty() || f.origin.rfind("..", 0) == 0) f.origin = path.string();
    f.from_workload = true;
    if (!read_file_if_exists(path, f.bytes))
      throw InputError(fmt::format("workload config fragment {}: no such file", path.string()));
    in.fragments.push_back(std::move(f));
  }
  for (const auto& f : spec.fragments)
    in.fragments.push_back(load_fragment(spec.name, f, paths_, job_dir));

  KeyInputs& k = in.key_inputs;
  k.source_identity = source_identity(spec, in.source, runner_, paths_.cache);
  if (in.series)
    for (const auto& file : in.series->content_files())
      k.series.emplace_back(file.filename().string(), read_file(file));
  for (const auto& f : in.fragments) k.fragments.emplace_back(f.origin, f.bytes);
  k.arch = arch.name;
  k.compiler_version = compiler_version(arch.compiler);
  in.key = compute_cache_key(k);

  Hasher tree;
  tree.feed(kKernelRecipeVersion).feed(k.source_identity);
  for (const auto& [name, bytes] : k.series) tree.feed(bytes);
  in.tree_id = tree.hex().substr(0, 16);
  return in;
}

std::string patchset_hash(const std::vector<std::string>& patches) {
  if (patches.empty()) return "";
  std::string lines;
  for (const auto& bytes : patches) lines += sha256_hex(bytes) + "\n";
  return sha256_hex(lines);
}

Artifact KernelBuilder::identify(Artifact a, const KernelSpec& spec, const Inputs& in) {
  a.source_id = in.key_inputs.source_identity;
  a.commit = source_commit(spec, in.source, runner_);
  std::vector<std::string> bytes;
  for (const auto& [name, b] : in.key_inputs.series) bytes.push_back(b);
  a.series_hash = patchset_hash(bytes);
  a.patches = in.series ? in.series->content_files() : std::vector<fs::path>{};
  a.patch_strip.assign(a.patches.size(), 1);
  if (in.series && in.series->mbox.empty())
    for (std::size_t i = 0; i < in.series->patches.size(); ++i)
      a.patch_strip[i] = in.series->patches[i].strip;
  std::string config;
  if (read_file_if_exists(a.config, config)) a.config_hash = sha256_hex(config);
  return a;
}

std::string KernelBuilder::cache_key(const KernelSpec& spec, const ArchInfo& arch,
                                     const fs::path& job_dir,
                                     const std::vector<fs::path>& workload_config) {
  return resolve(spec, arch, job_dir, workload_config).key;
}

std::pair<std::vector<std::pair<std::string, std::string>>, bool> KernelBuilder::build_env(
    const ArchInfo& arch, const fs::path& build_dir) {
  // Environment shared by merge_config.sh and make.
  // TMPDIR inside the build folder: a compiler killed by Ctrl-C leaves its
  // temporaries there, not in the host's /tmp.
  ensure_dir(build_dir / "tmp");
  std::vector<std::pair<std::string, std::string>> env = {
      {"ARCH", std::string(arch.kernel_arch)},
      {"CROSS_COMPILE", std::string(arch.cross_compile)},
      {"TMPDIR", (build_dir / "tmp").string()}};
  // Reproducible: the same inputs give the same image, byte for byte, so
  // bisect can tell that two commits built the same kernel by its hash.
  // (The date must be one `date -d` parses: gen_initramfs.sh reads it.)
  for (const auto& [name, value] :
       {std::pair{"KBUILD_BUILD_TIMESTAMP", "2000-01-01 00:00:00 UTC"},
        std::pair{"KBUILD_BUILD_USER", "kharness"}, std::pair{"KBUILD_BUILD_HOST", "kharness"},
        std::pair{"KBUILD_BUILD_VERSION", "1"}}) {
    const char* user = std::getenv(name);
    if (!user || !*user) env.emplace_back(name, value);
  }
  bool use_ccache = !find_program("ccache").empty();
  if (use_ccache) {
    const char* user_dir = std::getenv("CCACHE_DIR");
    if (!user_dir || !*user_dir) env.emplace_back("CCACHE_DIR", (paths_.cache / "ccache").string());
    // Depend mode takes the dependencies from the compiler's -MD output
    // instead of running the preprocessor a second time on every miss: a
    // cold build uses about 20% less CPU (410 s -> 327 s here).
    const char* depend = std::getenv("CCACHE_DEPEND");
    const char* nodepend = std::getenv("CCACHE_NODEPEND");
    if ((!depend || !*depend) && (!nodepend || !*nodepend)) env.emplace_back("CCACHE_DEPEND", "1");
    const char* basedir = std::getenv("CCACHE_BASEDIR");
    if (!basedir || !*basedir)
      env.emplace_back("CCACHE_BASEDIR", (paths_.cache / "trees").string());
    env.emplace_back("CCACHE_NOHASHDIR", "1");
  } else if (!warned_no_ccache_) {
    warned_no_ccache_ = true;
    status_.warn("ccache not found: building without it (every cold build compiles everything)");
  }

  return {env, use_ccache};
}

FileLock KernelBuilder::lock_tree(const std::string& tree_id, const std::string& subject,
                                  bool* waited) {
  bool said = false;
  return FileLock(paths_.cache / "locks" / (tree_id + ".lock"), [&] {
    check_interrupted("waiting for the kernel tree lock");
    if (!said) {
      said = true;
      if (waited) *waited = true;
      status_.step(subject, "waiting: another kharness is building this tree");
    }
  });
}

Artifact KernelBuilder::build(const KernelSpec& spec, const ArchInfo& arch, const fs::path& job_dir,
                              std::chrono::seconds timeout,
                              const std::vector<fs::path>& workload_config) {
  const std::string subject = fmt::format("{}/{}", spec.name, arch.name);
  // Transient: the next step line says where the kernel came from.
  status_.progress(subject, "kernel: resolving the source, series and config");
  Inputs in = resolve(spec, arch, job_dir, workload_config);
  ArtifactCache cache(paths_.cache / "artifacts");
  std::string damage;
  if (auto hit = cache.lookup(in.key, &damage)) {
    status_.step(subject,
                 fmt::format("kernel {} from the cache ({})", hit->release, in.key.substr(0, 12)));
    return identify(*hit, spec, in);
  }
  // A damaged entry is never booted: it is rebuilt (store() replaces it).
  if (!damage.empty())
    status_.warn(fmt::format("{}: cached kernel {} failed its check ({}): rebuilding it", subject,
                             in.key.substr(0, 12), damage));

  // One build at a time per tree: two kharness processes (two nightly jobs,
  // two test runs) share the cache, and a source tree or build folder
  // written by two makes at once is garbage. The second waits, then usually
  // finds the first one's artifact.
  // Incremental: the repository's one persistent worktree and build folder.
  const bool persistent =
      tree_mode_ == TreeMode::persistent_worktree && spec.source.kind == SourceSpec::Kind::git;
  if (persistent && in.series)
    throw InputError(fmt::format("kernel '{}': incremental builds take no series", spec.name));
  const std::string tree_id = persistent ? persistent_tree_id(in.source, runner_) : in.tree_id;
  bool said_waiting = false;
  FileLock lock = lock_tree(tree_id, subject, &said_waiting);
  if (said_waiting) {
    if (auto hit = cache.lookup(in.key)) {
      status_.step(subject, fmt::format("kernel {} from the cache ({})", hit->release,
                                        in.key.substr(0, 12)));
      return identify(*hit, spec, in);
    }
  }

  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  fs::path tree_root = paths_.cache / "trees" / tree_id;
  // The build folder sits beside the source (trees/<id>/src and
  // trees/<id>/build-<arch>): kbuild ties O= to the source's absolute path,
  // and with CCACHE_BASEDIR every tree's compiler lines then read "../src/...",
  // so a series tree reuses the objects the unpatched tree compiled.
  fs::path build_dir = tree_root / fmt::format("build-{}", arch.name);
  bool tree_ready = fs::exists(tree_root / (persistent ? "src" : "complete"));
  require_free_space(paths_.cache, tree_ready ? kBuildBytes : kTreeAndBuildBytes,
                     fmt::format("build of {}", subject));

  fs::path src = tree_root / "src";
  if (persistent)
    checkout_persistent_tree(in.source, src, spec.source.ref.empty() ? "HEAD" : spec.source.ref,
                             runner_, status_);
  else
    src = prepare_tree(spec, in.source, in.series ? &*in.series : nullptr, tree_root, runner_,
                       status_);
  ensure_dir(build_dir);

  auto [env, use_ccache] = build_env(arch, build_dir);

  std::vector<std::string> not_applicable;
  // Merge: the tree's own merge_config.sh on top of allnoconfig.
  status_.step(subject, fmt::format("config ({} fragments)", in.fragments.size()));
  {
    Command cmd;
    cmd.argv = {"bash", (src / "scripts/kconfig/merge_config.sh").string(), "-n", "-O",
                build_dir.string()};
    for (const auto& f : in.fragments) cmd.argv.push_back(f.path.string());
    cmd.cwd = src;
    cmd.env = env;
    cmd.output = build_dir / "merge.log";
    run_make(runner_, cmd, fmt::format("config merge of {}", subject));
  }
  {
    std::vector<ConfigSetting> requested;
    for (const auto& f : in.fragments) {
      auto s = parse_kconfig(f.bytes, f.origin);
      requested.insert(requested.end(), s.begin(), s.end());
    }
    std::string final_text;
    if (!read_file_if_exists(build_dir / ".config", final_text))
      throw InfraError(
          fmt::format("config merge of {} wrote no {}", subject, (build_dir / ".config").string()));
    auto lost = lost_symbols(requested, config_values(parse_kconfig(final_text, ".config")));
    // A symbol the tree does not define at all is not applicable to it, not
    // lost: kharness's fragments span kernels from 6.1 to linux-next, and
    // symbols come and go (CONFIG_BASE_FULL is gone by 6.12, CONFIG_MEMCG_V1
    // came in 6.11). Decided from the tree's own Kconfig, never a version;
    // its Kconfig files are read only when something was lost.
    auto split = lost.empty()
                     ? LostSplit{}
                     : split_not_applicable(lost, tree_kconfig_symbols(src, arch.kernel_arch));
    lost = std::move(split.lost);
    for (const auto& c : split.not_applicable) not_applicable.push_back(c.symbol);
    if (!split.not_applicable.empty())
      status_.info(fmt::format("{}: {}", subject, describe_not_applicable(split.not_applicable)));
    // A workload's own losses are that workload's problem: its runs are
    // skipped with the list, the kernel still serves the others.
    std::erase_if(lost, [&](const ConfigSetting& c) {
      return std::any_of(in.fragments.begin(), in.fragments.end(), [&](const Fragment& f) {
        return f.from_workload && f.origin == c.origin;
      });
    });
    if (!lost.empty()) throw InputError(describe_lost(lost));
  }

  // Make.
  fs::path log = build_dir / "build.log";
  fs::path count_file = build_dir / "kharness-cc-lines";
  bool clean_build = !fs::exists(build_dir / "vmlinux");
  int expected = 0;
  {
    std::string text;
    if (read_file_if_exists(count_file, text)) expected = std::atoi(text.c_str());
  }
  status_.step(subject, fmt::format("make {} -j{}{}", arch.make_target, jobs_,
                                    use_ccache ? " (ccache)" : ""));
  Command make = kbuild_make(src, build_dir, arch, env,
                             {use_ccache ? fmt::format("CC=ccache {}", arch.compiler)
                                         : fmt::format("CC={}", arch.compiler),
                              fmt::format("-j{}", jobs_), std::string(arch.make_target)});
  make.output = log;
  make.timeout = timeout;
  LogFollower follower(log);
  auto make_start = std::chrono::steady_clock::now();
  make.on_tick = [&] {
    follower.poll();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - make_start).count();
    std::string pct;
    // The last clean build's count; a config with more objects outgrows it,
    // and then no share is shown rather than a 99% that stays.
    if (expected > 0 && follower.cc_lines() < expected)
      pct = fmt::format("{:3d}% ", follower.cc_lines() * 100 / expected);
    status_.progress(subject, fmt::format("{}{} CC, {} [{}]", pct, follower.cc_lines(),
                                          follower.last_object(), format_seconds(s)));
  };
  run_make(runner_, make, fmt::format("build of {}", subject));
  follower.poll();
  if (clean_build && follower.cc_lines() > 0)
    write_file(count_file, fmt::format("{}\n", follower.cc_lines()));

  std::string release =
      first_line(run_make(runner_, kbuild_make(src, build_dir, arch, env, {"-s", "kernelrelease"}),
                          fmt::format("make kernelrelease for {}", subject)));

  fs::path image = build_dir / arch.image_path;
  if (!fs::is_regular_file(image))
    throw InfraError(fmt::format("build of {}: make succeeded but {} is missing; full log: {}",
                                 subject, image.string(), log.string()));
  double seconds = elapsed();
  Artifact a = cache.store(in.key, std::string(arch.name), image, build_dir / ".config", log,
                           release, seconds, not_applicable);
  status_.info(fmt::format("{}: built {} in {}", subject, release, format_seconds(seconds)));
  return identify(std::move(a), spec, in);
}

fs::path KernelBuilder::build_selftests(const KernelSpec& spec, const ArchInfo& arch,
                                        const fs::path& job_dir,
                                        const std::vector<fs::path>& workload_config,
                                        const std::string& target, std::chrono::seconds timeout) {
  const std::string subject = fmt::format("{}/{}", spec.name, arch.name);
  Inputs in = resolve(spec, arch, job_dir, workload_config);
  ArtifactCache cache(paths_.cache / "artifacts");
  const fs::path out = cache.dir(in.key) / "selftests" / target;
  if (fs::exists(out / "complete")) return out;
  if (!cache.lookup(in.key))
    throw InfraError(fmt::format("selftests/{} for {}: build the kernel first", target, subject));

  FileLock lock = lock_tree(in.tree_id, subject);
  if (fs::exists(out / "complete")) return out;
  fs::path tree_root = paths_.cache / "trees" / in.tree_id;
  fs::path src =
      prepare_tree(spec, in.source, in.series ? &*in.series : nullptr, tree_root, runner_, status_);
  fs::path build_dir = tree_root / fmt::format("build-{}", arch.name);
  if (!fs::is_directory(src / "tools/testing/selftests" / target))
    throw InputError(fmt::format("selftests/{} for {}: the tree has no tools/testing/selftests/{}",
                                 target, subject, target));
  auto [env, use_ccache] = build_env(arch, build_dir);
  fs::path log = cache.dir(in.key) / fmt::format("selftests-{}.log", target);
  ensure_dir(out.parent_path());

  // The tree's own UAPI headers (usr/include in the build folder), not the
  // host's: the tests are built from the very tree under test.
  status_.step(subject, fmt::format("selftests/{}: headers", target));
  Command headers = kbuild_make(src, build_dir, arch, env, {"-s", "headers"});
  headers.output = log.parent_path() / fmt::format("selftests-{}-headers.log", target);
  headers.timeout = timeout;
  run_make(runner_, headers, fmt::format("selftests/{} for {}: make headers", target, subject));

  // Static: the guest has no libc. Into a fresh folder, renamed when whole.
  status_.step(subject, fmt::format("selftests/{}: make (static, {})", target, arch.compiler));
  fs::path tmp = out.parent_path() / (target + ".tmp");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  ensure_dir(tmp);
  Command make;
  make.argv = {"make",
               "-C",
               (src / "tools/testing/selftests" / target).string(),
               "OUTPUT=" + tmp.string(),
               "CC=" + std::string(arch.compiler),
               "ARCH=" + std::string(arch.kernel_arch),
               "LDFLAGS=-static",
               "KHDR_INCLUDES=-isystem " + (build_dir / "usr/include").string(),
               fmt::format("-j{}", jobs_)};
  make.cwd = src;
  make.env = env;
  make.output = log;
  make.timeout = timeout;
  run_make(runner_, make, fmt::format("selftests/{} for {}", target, subject));
  fs::remove_all(out, ec);
  fs::rename(tmp, out);
  write_file(out / "complete", "");
  return out;
}

}  // namespace kh
