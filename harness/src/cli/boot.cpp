// kharness boot: a job's kernel (or a given image) with a workload's guest,
// the guest's console on this terminal and a shell in it, the way a
// developer pokes at a kernel by hand.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "cli/commands.h"
#include "cli/job_loading.h"
#include "core/paths.h"
#include "core/plan.h"
#include "engine/guest.h"
#include "kernel/builder.h"
#include "util/error.h"
#include "util/files.h"
#include "vm/accel.h"
#include "vm/registry.h"

namespace kh::cli {
namespace {

struct BootArgs {
  std::string job;
  std::string kernel, arch, workload, image, out;
  std::vector<std::string> sets;
  bool run_workload = false;
  std::string accel = "auto";
  std::string backend = "qemu";
};

// A fresh folder for the guest's files; kept after exit.
std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kharness-boot-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw InfraError("cannot create a folder in " + tmpl);
  return tmpl;
}

// The run whose guest we boot: the job's first kernel, arch and workload,
// or those the options name. Throws InputError for anything unknown.
PlannedRun pick_run(const Job& job, const BootArgs& a, const Paths& paths) {
  std::string arch = a.arch.empty() ? job.arches.front() : a.arch;
  if (!find_arch(arch))
    throw InputError(fmt::format("--arch {}: unknown arch (known: {})", arch, known_arch_names()));
  PlanFilters filters;
  filters.arches = {arch};
  if (!a.workload.empty()) filters.workloads = {a.workload};
  if (!a.kernel.empty()) filters.kernels = {a.kernel};
  filters.sets = a.sets;
  auto plan = make_plan(job, filters, [&](const std::string& name) {
    return load_workload(paths.workloads_root(), name);
  });
  resolve_file_params(plan, job.base_dir, paths.root);
  if (plan.empty())
    throw InputError(fmt::format("{}: the options leave nothing to boot", job.origin));
  return plan.front();
}

int do_boot(const BootArgs& a) {
  Job job = load_job_or_default(a.job);
  Paths paths = Paths::from_environment();
  PlannedRun run = pick_run(job, a, paths);
  std::filesystem::path image;
  if (!a.image.empty()) {
    image = std::filesystem::absolute(a.image);
    if (!std::filesystem::is_regular_file(image))
      throw InputError(fmt::format("--image {}: no such file", a.image));
  }
  // QEMU in a background group would stop at its first terminal access.
  if (::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) != ::getpgrp())
    throw InputError("kharness boot attaches the terminal: run it in the foreground");

  TerminalStatus status;
  RealProcessRunner runner;
  std::string kernel_name = a.image.empty() ? run.kernel->name : image.filename().string();
  std::filesystem::path selftests;
  std::filesystem::path kernel_config =
      image.empty() ? std::filesystem::path{} : config_near_image(image);
  if (image.empty()) {
    KernelBuilder builder(runner, status, paths, host_cores());
    const Artifact artifact = builder.build(*run.kernel, *run.arch, job.base_dir,
                                            job.timeouts.build, run.workload_config);
    image = artifact.image;
    kernel_config = artifact.config;
    if (!run.spec.selftests.empty())
      selftests = builder.build_selftests(*run.kernel, *run.arch, job.base_dir, run.workload_config,
                                          run.spec.selftests, job.timeouts.build);
  }
  std::filesystem::path dir = a.out.empty() ? make_temp_dir() : std::filesystem::absolute(a.out);
  ensure_dir(dir);
  AgentShell shell = a.run_workload ? AgentShell::after_workload : AgentShell::instead_of_workload;
  BootRequest req = write_guest(run, image, config_boot_args(*run.arch, kernel_config), dir, shell,
                                load_image_recipe(paths.image_recipe()), paths, runner, selftests);

  RealHostProbe probe;
  BackendDeps deps{&runner, &probe, paths.cache, a.accel};
  auto backend = create_backend(a.backend, deps);
  status.info(fmt::format("kharness: booting {} ({}) with the {} guest{}; folder {}", kernel_name,
                          run.arch->name, run.ref->id, a.run_workload ? ", workload first" : "",
                          dir.string()));
  status.info(
      "kharness: leave with `poweroff -f` (or `exit`) in the guest, or Ctrl-A X; "
      "Ctrl-A C switches to the QEMU monitor");
  VmExit vm = backend->attach(req);
  switch (vm.kind) {
    case VmExitKind::interrupted:
      throw Interrupted("boot");
    case VmExitKind::powered_off:
      break;
    default:
      throw InfraError(
          fmt::format("{} exited {} ({})", run.arch->qemu_binary, vm.exit_code, vm.accel_note));
  }
  status.info(fmt::format("kharness: the VM is off ({}); its files are in {}", to_string(vm.accel),
                          dir.string()));
  return 0;
}

}  // namespace

void add_boot(CLI::App& app, Action& action) {
  auto args = std::make_shared<BootArgs>();
  auto* sub = app.add_subcommand(
      "boot", "Boot a kernel with a workload's guest and a shell on this terminal");
  sub->footer(R"(Boots the job's kernel (the first, or --kernel; built or taken from the
cache) or a kernel image you name (--image), for one arch, with the guest
image of one workload (the first of the job, or --workload), and attaches
this terminal to the guest's serial console. Instead of the workload, the
guest's agent starts a shell (busybox sh; bash is there too); with --run it
runs the workload first (records in records.jsonl as usual) and then starts
the shell. The guest's files (initramfs.cpio, scratch.img, console.log,
records.jsonl) stay in the folder (--out, or a new one under /tmp).

Leaving: `poweroff -f` or `exit` in the guest powers it off; Ctrl-A X quits
QEMU at once; Ctrl-A C switches between the console and the QEMU monitor;
Ctrl-A H lists the other keys. Ctrl-C goes to the guest. QEMU never outlives
kharness (SIGTERM or SIGHUP kill it too).

With --accel auto, KVM is used only when `kharness run` found that KVM
guests work on this host; otherwise TCG (a KVM guest that hangs on the
terminal would look like a slow boot).

Examples:
  kharness boot                          # default job: Linux 6.1, dying-cgroup's guest
  kharness boot --run --set dying-cgroup.iterations=100
  kharness boot my-series.yaml --kernel patched --out /tmp/poke
  kharness boot --image ~/linux/arch/x86/boot/bzImage --arch x86_64
  kharness boot --workload dying-cgroup-kmem --accel tcg

Exit codes: 0 the guest powered off or QEMU was quit, 2 bad usage or input,
3 infrastructure failure (build, QEMU), 130 interrupted.)");
  sub->add_option("job", args->job, "Job file (YAML); default: the built-in default job")
      ->check(CLI::ExistingFile);
  auto* kernel =
      sub->add_option("--kernel,-k", args->kernel, "The job's kernel to boot (default: the first)");
  sub->add_option("--image", args->image,
                  "Boot this kernel image instead of building the job's kernel")
      ->excludes(kernel);
  sub->add_option("--arch", args->arch, "Guest arch (default: the job's first)");
  sub->add_option("--workload,-w", args->workload,
                  "Whose guest image, by id or name (default: the job's first workload)");
  sub->add_option("--set", args->sets,
                  "Override a workload parameter: WORKLOAD.PARAM=VALUE (repeatable)");
  sub->add_flag("--run", args->run_workload, "Run the workload first, then start the shell");
  sub->add_option("--out,-o", args->out, "Folder for the guest's files (default: a new temp dir)");
  sub->add_option("--accel", args->accel,
                  "auto (KVM only if known to work here, else TCG), kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_option("--backend", args->backend, "VM backend")->check(CLI::IsMember(backend_names()));
  sub->callback([&action, args] { action = [args] { return do_boot(*args); }; });
}

}  // namespace kh::cli
