// kharness exec: a kernel (a job's, a tree's current state, or an image),
// one command in its guest, the command's output on this terminal as it
// comes and its exit status as ours. vng --exec for kharness kernels.
#include "cli/exec.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "analysis/console_findings.h"
#include "cli/commands.h"
#include "cli/job_loading.h"
#include "core/outcome.h"
#include "core/paths.h"
#include "core/plan.h"
#include "engine/guest.h"
#include "image/guest_image.h"
#include "kernel/builder.h"
#include "kernel/tree_snapshot.h"
#include "util/error.h"
#include "util/files.h"
#include "util/status.h"
#include "util/text.h"
#include "vm/accel.h"
#include "vm/registry.h"

namespace kh::cli {
namespace fs = std::filesystem;

ExecTarget check_exec_args(const ExecArgs& a) {
  if (a.command.empty() && a.script.empty())
    throw InputError(
        "exec: no command: give one after -- (kharness exec -- uname -a) or --script FILE");
  if (!a.command.empty() && !a.script.empty())
    throw InputError("exec: give a command or --script FILE, not both");
  if (a.timeout <= 0) throw InputError(fmt::format("--timeout {}: must be > 0 seconds", a.timeout));
  if (a.cpus <= 0) throw InputError(fmt::format("--cpus {}: must be > 0", a.cpus));
  if (a.memory_mb < 64)
    throw InputError(fmt::format("--memory {}: must be >= 64 (MiB)", a.memory_mb));
  std::error_code ec;
  if (!a.script.empty() && !fs::is_regular_file(a.script, ec))
    throw InputError(fmt::format("--script {}: no such file", a.script));
  if (!a.dir.empty() && !fs::is_directory(a.dir, ec))
    throw InputError(fmt::format("--dir {}: no such folder", a.dir));
  if (int(!a.job.empty()) + int(!a.tree.empty()) + int(!a.image.empty()) > 1)
    throw InputError("exec: give one of --job, --tree and --image");
  if (!a.kernel.empty() && (!a.tree.empty() || !a.image.empty()))
    throw InputError("--kernel names a job's kernel: not with --tree or --image");
  if (!a.image.empty()) {
    if (!fs::is_regular_file(a.image, ec))
      throw InputError(fmt::format("--image {}: no such file", a.image));
    return ExecTarget::image;
  }
  if (!a.tree.empty()) {
    if (!fs::is_directory(a.tree, ec))
      throw InputError(fmt::format("--tree {}: no such folder", a.tree));
    if (!fs::is_regular_file(fs::path(a.tree) / "Makefile", ec) ||
        !fs::is_regular_file(fs::path(a.tree) / "Kconfig", ec))
      throw InputError(
          fmt::format("--tree {}: not a kernel tree (no Makefile and Kconfig at its top)", a.tree));
    return ExecTarget::tree;
  }
  if (a.job.empty()) return ExecTarget::default_job;
  if (!fs::is_regular_file(a.job, ec))
    throw InputError(fmt::format("--job {}: no such file", a.job));
  return ExecTarget::job_file;
}

std::vector<std::string> guest_command(const std::vector<std::string>& words) {
  if (words.size() == 1) return {"/bin/sh", "-c", words.front()};
  return words;
}

std::vector<std::string> guest_script_command(const std::string& guest_path,
                                              const std::string& script_text) {
  if (script_text.starts_with("#!")) return {guest_path};
  return {"/bin/sh", guest_path};
}

std::string exec_config_json(const std::vector<std::string>& argv, const std::string& cwd) {
  nlohmann::json j;
  j["workload"] = "exec";
  j["exec"] = {{"argv", argv}, {"cwd", cwd}, {"stdout", kStdoutPort}, {"stderr", kStderrPort}};
  return j.dump(2) + "\n";
}

ExecEnding exec_ending(const VmExit& vm, const AgentRecords& records,
                       const std::string& first_finding, int timeout_seconds) {
  using Kind = ExecEnding::Kind;
  if (vm.kind == VmExitKind::interrupted) return {Kind::interrupted, kExitInterrupted, ""};
  if (auto it = records.metrics.find("exit_status"); it != records.metrics.end()) {
    ExecEnding e{Kind::exited, static_cast<int>(it->second), ""};
    if (!first_finding.empty())
      e.message = fmt::format("the guest kernel reported '{}' while the command ran (console.log)",
                              first_finding);
    return e;
  }
  if (!first_finding.empty())
    return {
        Kind::kernel_report, kExitFail,
        fmt::format("the guest kernel reported '{}' before the command finished", first_finding)};
  if (!records.setup_errors.empty())
    return {
        Kind::infra, kExitInfra,
        fmt::format("the guest agent could not run the command: {}", records.setup_errors.front())};
  switch (vm.kind) {
    case VmExitKind::run_timeout:
      return {Kind::timed_out, 124,
              fmt::format("the command did not finish within --timeout {} s (limit after "
                          "emulation scaling: {:.0f} s); the guest was stopped",
                          timeout_seconds, vm.run_limit_seconds)};
    case VmExitKind::boot_timeout:
      return {Kind::infra, kExitInfra,
              fmt::format("the guest did not reach the agent within {:.0f} s ({})",
                          vm.boot_limit_seconds, to_string(vm.accel))};
    case VmExitKind::vm_failed:
      return {Kind::infra, kExitInfra,
              fmt::format("QEMU failed (exit {}): {}", vm.exit_code, vm.vm_output)};
    default:
      return {Kind::infra, kExitInfra,
              records.ready ? "the guest powered off before the command's status came back"
                            : "the guest powered off before the agent reported ready"};
  }
}

namespace {

// Copies what QEMU appends to the command's output files to our stdout and
// stderr, every 20 ms, until stopped; then once more, so nothing is lost.
class OutputPump {
 public:
  OutputPump(const fs::path& run_dir)
      : streams_{Stream{run_dir / kStdoutFile, STDOUT_FILENO},
                 Stream{run_dir / kStderrFile, STDERR_FILENO}},
        thread_([this] {
          while (!stop_) {
            pump();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          pump();
        }) {}
  ~OutputPump() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Stream {
    fs::path path;
    int fd;
    off_t offset = 0;
  };
  void pump() {
    char buf[1 << 16];
    for (auto& s : streams_) {
      int in = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (in < 0) continue;
      for (;;) {
        ssize_t n = ::pread(in, buf, sizeof buf, s.offset);
        if (n <= 0) break;
        s.offset += n;
        for (ssize_t done = 0; done < n;) {
          ssize_t w = ::write(s.fd, buf + done, static_cast<size_t>(n - done));
          if (w <= 0) break;  // our reader went away: keep draining the file
          done += w;
        }
      }
      ::close(in);
    }
  }
  Stream streams_[2];
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

fs::path make_run_dir(const std::string& out) {
  if (!out.empty()) {
    fs::path dir = fs::absolute(out);
    ensure_dir(dir);
    return dir;
  }
  std::string tmpl = (fs::temp_directory_path() / "kharness-exec-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw InfraError("cannot create a folder in " + tmpl);
  return tmpl;
}

// The job's run for `arch` (and --kernel): its kernel and the fragments of
// every workload the job lists, so the kernel is the one `run` builds.
PlannedRun job_run(const Job& job, const std::string& arch, const std::string& kernel,
                   const Paths& paths) {
  PlanFilters filters;
  filters.arches = {arch};
  if (!kernel.empty()) filters.kernels = {kernel};
  auto plan = make_plan(job, filters, [&](const std::string& name) {
    return load_workload(paths.workloads_root(), name);
  });
  if (plan.empty())
    throw InputError(fmt::format("{}: the options leave no kernel to boot", job.origin));
  return plan.front();
}

// The arch to boot: --arch, else the host's when the job has it, else the job's first.
std::string pick_arch(const ExecArgs& a, const std::vector<std::string>& job_arches) {
  std::string arch = a.arch;
  if (arch.empty()) {
    arch = std::string(host_arch());
    if (!job_arches.empty() &&
        std::find(job_arches.begin(), job_arches.end(), arch) == job_arches.end())
      arch = job_arches.front();
  }
  if (!find_arch(arch))
    throw InputError(fmt::format("--arch {}: unknown arch (known: {})", arch, known_arch_names()));
  return arch;
}

int do_exec(const ExecArgs& a) {
  const ExecTarget target = check_exec_args(a);
  Paths paths = Paths::from_environment();
  TerminalStatus status;
  RealProcessRunner runner;

  // The kernel: an image, or built (or taken from the cache) by the builder.
  fs::path image;
  fs::path kernel_config;
  std::string kernel_cmdline;
  std::string arch;
  if (target == ExecTarget::image) {
    arch = pick_arch(a, {});
    image = fs::absolute(a.image);
    kernel_config = config_near_image(image);
  } else {
    Job job = load_job_or_default(a.job);
    arch = pick_arch(a, target == ExecTarget::tree ? std::vector<std::string>{} : job.arches);
    PlannedRun run =
        job_run(job, target == ExecTarget::tree ? job.arches.front() : arch, a.kernel, paths);
    KernelBuilder builder(runner, status, paths, host_cores());
    KernelSpec spec = *run.kernel;
    if (target == ExecTarget::tree) {
      // The tree as it is now, committed privately, built in kharness's one
      // persistent worktree of that repository: make rebuilds what changed.
      ScopedTempDir work("kharness-exec-index");
      fs::path tree = fs::canonical(a.tree);
      spec = KernelSpec{};
      spec.name = tree.filename().string();
      spec.source.kind = SourceSpec::Kind::git;
      spec.source.path = tree;
      spec.source.ref = snapshot_worktree(tree, work.path(), runner);
      builder.set_tree_mode(TreeMode::persistent_worktree);
    }
    kernel_cmdline = spec.cmdline;
    const Artifact artifact = builder.build(spec, *find_arch(arch), job.base_dir,
                                            job.timeouts.build, run.workload_config);
    image = artifact.image;
    kernel_config = artifact.config;
  }
  const ArchInfo& arch_info = *find_arch(arch);

  // The guest: the agent, busybox and bash, the command, the folder.
  fs::path dir = make_run_dir(a.out);
  GuestImageRequest img;
  img.arch = &arch_info;
  img.recipe = load_image_recipe(paths.image_recipe());
  img.agent = paths.agent(arch);
  img.debs_dir = paths.debs();
  std::vector<std::string> argv;
  std::string script_guest, script_text;
  if (!a.script.empty()) {
    fs::path script = fs::absolute(a.script);
    script_guest = fmt::format("{}/{}", kGuestScriptDir, script.filename().string());
    script_text = read_file(script);
    argv = guest_script_command(script_guest, script_text);
  } else {
    argv = guest_command(a.command);
  }
  if (!a.dir.empty()) img.trees.emplace_back(kGuestDir, fs::absolute(a.dir));
  img.config_json = exec_config_json(argv, a.dir.empty() ? "/" : kGuestDir);
  Initramfs initramfs = compose_guest_image(img, paths.guest_image_cache());
  // Executable whatever its mode on the host: a #! script runs directly.
  if (!script_guest.empty()) initramfs.add_file(script_guest, std::move(script_text), 0755);
  initramfs.write(dir / "initramfs.cpio");

  BootRequest req;
  req.arch = &arch_info;
  req.kernel = image;
  req.initrd = dir / "initramfs.cpio";
  req.run_dir = dir;
  req.machine.cpus = a.cpus;
  req.machine.memory_mb = a.memory_mb;
  req.machine.cmdline = config_boot_args(arch_info, kernel_config);
  append_words(req.machine.cmdline, kernel_cmdline);
  append_words(req.machine.cmdline, a.append);
  req.run_timeout = std::chrono::seconds(a.timeout);
  req.output_ports = {kStdoutFile, kStderrFile};
  if (a.console)
    req.on_console = [](const std::string& line, double) {
      std::fprintf(stderr, "%s\n", line.c_str());
    };

  RealHostProbe probe;
  BackendDeps deps{&runner, &probe, paths.cache, a.accel};
  auto backend = create_backend("qemu", deps);
  VmExit vm;
  {
    OutputPump pump(dir);
    vm = backend->run(req, nullptr);
    pump.finish();
  }

  std::string text;
  read_file_if_exists(dir / "records.jsonl", text);
  AgentRecords records = parse_records(text);
  text.clear();
  read_file_if_exists(dir / "console.log", text);
  ConsoleFindings findings = parse_console(text);
  ExecEnding end = exec_ending(
      vm, records, findings.findings.empty() ? "" : findings.findings.front().title, a.timeout);
  const bool keep = !a.out.empty() || end.kind == ExecEnding::Kind::infra ||
                    end.kind == ExecEnding::Kind::kernel_report;
  if (!keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  switch (end.kind) {
    case ExecEnding::Kind::interrupted:
      throw Interrupted("exec");
    case ExecEnding::Kind::infra:
      throw InfraError(fmt::format("{} (the guest's files: {})", end.message, dir.string()));
    default:
      break;
  }
  if (!end.message.empty())
    status.warn(fmt::format("kharness: {}{}", end.message,
                            keep ? fmt::format(" (the guest's files: {})", dir.string()) : ""));
  return end.code;
}

}  // namespace

void add_exec(CLI::App& app, Action& action) {
  auto args = std::make_shared<ExecArgs>();
  auto* sub = app.add_subcommand(
      "exec", "Boot a kernel, run one command in it, print its output, exit with its status");
  sub->footer(R"(Boots a kernel under QEMU with kharness's guest (busybox, bash, the agent),
runs one command or script in it, prints the command's stdout and stderr here
as they come (the kernel's console stays in the guest's console.log unless
--console) and exits with the command's exit status.

Which kernel:
  (nothing)        the default job's kernel (Linux 6.1), built or from the cache
  --job JOB.yaml   that job's kernel (--kernel K, else its first)
  --tree TREE      a kernel source tree (a git work tree) as it is now, edits
                   included and committed nowhere: kharness builds it
                   incrementally in its persistent worktree of that repository
                   (<cache>/trees/wt-<id>/), so edit, then exec again: only
                   what changed is rebuilt, and an unchanged tree is not
                   built at all
  --image PATH     a bzImage/Image you built (with --arch for another arch)

The command comes last, after --. One word runs with /bin/sh -c (pipes, globs and && work:
'cat /proc/cgroups | head -3'); several words run as they are, without a
shell. --script FILE copies FILE into the guest and runs it (directly when it
starts with #!, else with /bin/sh). busybox's applets and bash are on PATH.

--dir DIR copies DIR into the guest's initramfs as /host and runs the command
there (a copy: what the command changes stays in the guest). Copying is the
fastest way in under TCG: no 9p or virtiofs driver in the guest kernel, no
daemon on the host, and it works with any --image; it costs the unpacking of
its bytes at boot (~10 ms per MB under TCG), so keep big data out of it.

Exit status: the command's own (128+N when signal N killed it); 124 when
--timeout passed; 1 when the guest kernel reported a splat (WARNING, BUG,
panic...) and the command never finished; 2 bad usage; 3 infrastructure
(a build failed, no agent, QEMU failed: the guest's files are kept and named);
130 interrupted (Ctrl-C leaves no QEMU behind). A message from kharness
itself starts with "kharness:" on stderr.

Examples:
  kharness exec -- uname -r
  kharness exec -- 'cat /proc/cgroups; grep -c . /proc/vmstat'
  kharness exec --dir tests/mm --script tests/mm/run.sh
  kharness exec --tree ~/src/linux -- 'cat /sys/kernel/mm/lru_gen/enabled'
  kharness exec --image arch/x86/boot/bzImage --append 'cgroup.memory=nokmem' -- dmesg
  kharness exec --job my-series.yaml --kernel patched --timeout 60 -- ./repro)");
  sub->add_option("command", args->command, "The command to run in the guest (after --)");
  sub->add_option("--job,-j", args->job,
                  "Boot this job's kernel (default: the built-in default job)");
  sub->add_option("--tree,-t", args->tree,
                  "Build this kernel tree as it is now (incrementally) and boot it");
  sub->add_option("--image", args->image, "Boot this kernel image instead");
  sub->add_option("--kernel,-k", args->kernel, "The job's kernel (default: its first)");
  sub->add_option("--arch", args->arch,
                  "Guest arch (default: the host's, when the job has it, else the job's first)");
  sub->add_option("--dir,-d", args->dir,
                  "Copy this host folder into the guest as /host; run there");
  sub->add_option("--script,-s", args->script, "Run this host file in the guest");
  sub->add_option("--append", args->append, "More kernel command line");
  sub->add_option("--timeout", args->timeout,
                  "Seconds the command may run after the boot (scaled like job timeouts "
                  "for emulated arches; default 600)");
  sub->add_option("--cpus", args->cpus, "Guest vCPUs (default 2)");
  sub->add_option("--memory,-m", args->memory_mb, "Guest memory in MiB (default 512)");
  sub->add_flag("--console", args->console, "Print the guest kernel's console on stderr");
  sub->add_option("--out,-o", args->out,
                  "Keep the guest's files (console.log, records.jsonl, initramfs.cpio) here");
  sub->add_option("--accel", args->accel, "auto (KVM when it works here, else TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->callback([&action, args] { action = [args] { return do_exec(*args); }; });
}

}  // namespace kh::cli
