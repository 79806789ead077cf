#include "core/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "analysis/assertions.h"
#include "analysis/ktap.h"
#include "image/guest_image.h"
#include "kernel/kconfig.h"
#include "report/junit.h"
#include "report/kcidb.h"
#include "report/ktap_export.h"
#include "report/result_json.h"
#include "report/summary.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace kh {

Executor::Executor(KernelBuilder& builder, Backend& backend, ProcessRunner& runner, Status& status,
                   Paths paths)
    : builder_(builder),
      backend_(backend),
      runner_(runner),
      status_(status),
      paths_(std::move(paths)) {}

std::string guest_file_path(const std::string& param, const std::filesystem::path& host) {
  return fmt::format("{}/{}/{}", kGuestFilesDir, param, host.filename().string());
}

std::string agent_config_json(const PlannedRun& run, bool has_disk, AgentShell shell) {
  nlohmann::json j;
  j["workload"] = run.spec.name;
  j["params"] = run.params;
  // A file parameter reaches the agent as the copy's path in the image.
  for (const auto& p : run.spec.params)
    if (p.file && run.params.count(p.name))
      j["params"][p.name] = guest_file_path(p.name, run.params.at(p.name));
  if (has_disk) j["disk"] = "/dev/vda";
  switch (shell) {
    case AgentShell::none:
      break;
    case AgentShell::instead_of_workload:
      j["shell"] = "instead";
      break;
    case AgentShell::after_workload:
      j["shell"] = "after";
      break;
  }
  return j.dump(2) + "\n";
}

BootRequest write_guest(const PlannedRun& run, const std::filesystem::path& kernel_image,
                        const std::filesystem::path& dir, AgentShell shell,
                        const ImageRecipe& recipe, const Paths& paths, ProcessRunner& runner,
                        const std::filesystem::path& selftests) {
  const int disk_mb = run.spec.machine.disk_mb;
  GuestImageRequest img;
  img.arch = run.arch;
  img.recipe = recipe;
  img.agent = paths.agent(std::string(run.arch->name));
  img.debs_dir = paths.debs();
  img.config_json = agent_config_json(run, disk_mb > 0, shell);
  img.workload_dir = run.spec.dir;
  for (const auto& p : run.spec.params)
    if (p.file && run.params.count(p.name))
      img.files.emplace_back(guest_file_path(p.name, run.params.at(p.name)), run.params.at(p.name));
  if (!selftests.empty()) {
    for (const auto& e : std::filesystem::directory_iterator(selftests))
      if (e.is_regular_file() && e.path().filename() != "complete")
        img.files.emplace_back(fmt::format("{}/{}/{}", kGuestSelftestsDir, run.spec.selftests,
                                           e.path().filename().string()),
                               e.path());
  }
  compose_guest_image(img).write(dir / "initramfs.cpio");

  BootRequest req;
  req.arch = run.arch;
  req.kernel = kernel_image;
  req.initrd = dir / "initramfs.cpio";
  req.run_dir = dir;
  req.machine.cpus = run.spec.machine.cpus;
  req.machine.memory_mb = run.spec.machine.memory_mb;
  req.machine.numa_nodes = run.spec.machine.numa_nodes;
  // Workload, then the job's entry (a variant), then the kernel's: later
  // words win for parameters the kernel reads last-one-wins.
  for (const std::string* part : {&run.spec.cmdline, &run.ref->cmdline, &run.kernel->cmdline})
    if (!part->empty()) req.machine.cmdline += (req.machine.cmdline.empty() ? "" : " ") + *part;
  if (disk_mb > 0) {
    make_scratch_disk(runner, dir / "scratch.img", disk_mb);
    req.machine.disks.push_back(dir / "scratch.img");
  }
  return req;
}

std::string missing_workload_config(const WorkloadSpec& spec, const std::string& final_config,
                                    const std::string& arch) {
  const auto fragments = spec.config_for(arch);
  if (fragments.empty()) return "";
  std::vector<ConfigSetting> requested;
  for (const auto& path : fragments) {
    std::string origin = spec.dir.empty() ? path.filename().string()
                                          : spec.dir.filename().string() + "/" +
                                                path.lexically_relative(spec.dir).string();
    auto settings = parse_kconfig(read_file(path), origin);
    requested.insert(requested.end(), settings.begin(), settings.end());
  }
  auto lost = lost_symbols(requested, config_values(parse_kconfig(final_config, ".config")));
  if (lost.empty()) return "";
  return fmt::format("the kernel lacks what workload '{}' needs: {}", spec.name,
                     describe_lost(lost));
}

std::optional<std::pair<unsigned long, unsigned long>> taint_appeared(const AgentRecords& records) {
  std::vector<unsigned long> seen;
  for (const auto& snap : records.snapshots) {
    auto it = snap.files.find("/proc/sys/kernel/tainted");
    if (it != snap.files.end()) seen.push_back(std::strtoul(it->second.c_str(), nullptr, 10));
  }
  if (seen.size() < 2 || (seen.back() & ~seen.front()) == 0) return std::nullopt;
  return std::make_pair(seen.front(), seen.back());
}

Verdict judge_run(const VmExit& vm, const ConsoleReport& console, const AgentRecords& records,
                  const std::vector<AssertionResult>& assertions,
                  const std::vector<std::string>& tolerated) {
  if (vm.kind == VmExitKind::interrupted) return {Outcome::infra, "interrupted"};
  std::vector<const ConsoleFinding*> findings;
  for (const auto& f : console.findings)
    if (std::find(tolerated.begin(), tolerated.end(), f.title) == tolerated.end())
      findings.push_back(&f);
  // The first report is the cause (an oops comes before the panic it
  // leads to); its title is the reason, whatever the VM did after it.
  if (!findings.empty()) {
    const auto& f = *findings.front();
    std::string more = findings.size() > 1 ? fmt::format(" (+{} more)", findings.size() - 1) : "";
    return {Outcome::fail, f.title + more};
  }
  // A taint the run added fails it even when the console lost the message.
  // When a tolerated report is there, it explains the taint (a WARNING
  // taints W), so the taint alone does not fail the run.
  if (auto taint = taint_appeared(records); taint && findings.size() == console.findings.size())
    return {Outcome::fail,
            fmt::format("kernel tainted during the run: {} (was {})", taint->second, taint->first)};
  switch (vm.kind) {
    case VmExitKind::vm_failed:
      return {Outcome::infra, fmt::format("QEMU failed (exit {}): {}", vm.exit_code, vm.vm_output)};
    case VmExitKind::host_failed:
      return {Outcome::infra, "host failed: " + vm.vm_output};
    case VmExitKind::boot_timeout:
      return {Outcome::infra,
              console.booted ? "boot timeout: the kernel started but the agent never reported ready"
                             : "boot timeout: no kernel output on the console"};
    case VmExitKind::run_timeout:
      return {Outcome::infra, "workload timeout: the agent did not finish in time"};
    default:
      break;
  }
  if (!records.setup_errors.empty())
    return {Outcome::infra, "agent setup: " + records.setup_errors.front()};
  if (!records.workload_errors.empty())
    return {Outcome::fail, "workload: " + records.workload_errors.front()};
  if (!records.ready)
    return {Outcome::infra, "the guest powered off before the agent reported ready"};
  if (!records.done) return {Outcome::infra, "the guest powered off before the agent finished"};
  std::vector<std::string> failed;
  for (const auto& a : assertions)
    if (!a.passed)
      failed.push_back(!a.error.empty() ? fmt::format("{} ({})", a.expression, a.error)
                       : !a.left.empty()
                           ? fmt::format("{} ({} was {:g})", a.expression, a.left, a.left_value)
                           : fmt::format("{} (was {:g})", a.expression, a.value));
  if (!failed.empty()) {
    std::string more = failed.size() > 1 ? fmt::format(" (+{} more)", failed.size() - 1) : "";
    return {Outcome::fail, "assertion failed: " + failed.front() + more};
  }
  return {Outcome::pass, ""};
}

std::vector<TestCase> program_cases(const AgentRecords& records, Metrics& metrics) {
  std::vector<TestCase> cases;
  std::map<std::string, double> totals;
  bool any_ktap = false;
  for (const auto& o : records.outputs) {
    metrics[o.name + ".exit_status"] = o.exit_status;
    metrics[o.name + ".timed_out"] = o.timed_out ? 1 : 0;
    metrics[o.name + ".seconds"] = o.seconds;
    if (o.format != "ktap") continue;
    any_ktap = true;
    KtapResult k = parse_ktap(o.text, o.name, o.exit_status, o.timed_out);
    for (const char* s : {"pass", "fail", "skip", "xfail"}) metrics[o.name + "." + s] = 0;
    for (const auto& c : k.cases) {
      metrics[o.name + "." + c.status] += 1;
      totals[c.status] += 1;
      cases.push_back(c);
    }
  }
  if (any_ktap) {
    for (const char* s : {"pass", "fail", "skip", "xfail"})
      metrics[std::string("kselftest.") + s] = totals[s];
    metrics["kselftest.total"] = static_cast<double>(cases.size());
  }
  return cases;
}

Metrics collect_metrics(const PlannedRun& run, const AgentRecords& records,
                        std::vector<std::string>& errors, std::vector<TestCase>* cases) {
  Metrics m;
  for (const auto& snap : records.snapshots)
    for (const auto& [k, v] : snapshot_metrics(snap)) m[k] = v;
  for (const auto& [k, v] : records.metrics) m[k] = v;
  auto parsed = program_cases(records, m);
  if (cases) *cases = std::move(parsed);
  for (const auto& [k, v] : run.params) {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (!v.empty() && end && *end == '\0') m[k] = d;
  }
  auto errs = derive_metrics(run.spec.metrics, m);
  errors.insert(errors.end(), errs.begin(), errs.end());
  return m;
}

std::string reproduce_script(const std::vector<std::string>& argv, int disk_mb) {
  std::string s =
      "#!/bin/sh\n"
      "# Boots exactly this run's kernel and image with the same QEMU command line.\n"
      "# It runs in a fresh folder (repro-<time>/) so the evidence beside this\n"
      "# script is never overwritten; the console is printed as it comes.\n"
      "set -eu\n"
      "here=$(cd \"$(dirname \"$0\")\" && pwd)\n"
      "dir=\"$here/repro-$(date +%Y%m%d-%H%M%S)\"\n"
      "mkdir -p \"$dir\" && cd \"$dir\"\n"
      "ln -s ../initramfs.cpio initramfs.cpio\n";
  if (disk_mb > 0)
    s += fmt::format("truncate -s {}M scratch.img && mkfs.ext4 -q -F -L kharness scratch.img\n",
                     disk_mb);
  s += ": > console.log\n"
       "tail -f console.log & tailpid=$!\n"
       "trap 'kill $tailpid 2>/dev/null' EXIT\n";
  s += shell_join(argv) + "\n";
  s += "echo \"console: $dir/console.log  records: $dir/records.jsonl\"\n";
  return s;
}

RunResult Executor::run_one(const PlannedRun& run, const Artifact& artifact, const Job& job,
                            const std::filesystem::path& out_dir) {
  std::string subject = run.run_dir;
  std::filesystem::path dir = std::filesystem::absolute(out_dir / run.run_dir);
  ensure_dir(dir);
  RunResult r;
  r.kernel = {run.kernel->name, artifact.release, artifact.key, run.kernel->series,
              run.kernel->source.kind == SourceSpec::Kind::git
                  ? run.kernel->source.path.string() + "@" + run.kernel->source.ref
                  : run.kernel->source.path.string()};
  r.kernel.source_id = artifact.source_id;
  r.kernel.commit = artifact.commit;
  r.kernel.series_hash = artifact.series_hash;
  r.kernel.config_hash = artifact.config_hash;
  for (const auto& p : artifact.patches) r.kernel.patches.push_back(p.string());
  r.started = utc_timestamp();
  r.arch = std::string(run.arch->name);
  r.workload = run.ref->id;
  r.workload_name = run.spec.name;
  r.key_metric = run.spec.key_metric;
  r.repeat = run.repeat;
  r.params = run.params;
  r.run_dir = run.run_dir;
  r.timings["build"] = artifact.build_seconds;

  // A workload whose fragment the kernel could not honour (a symbol this
  // tree lacks, an unmet dependency) would run blind: say so instead.
  {
    std::string final_config;
    read_file_if_exists(artifact.config, final_config);
    if (std::string why =
            missing_workload_config(run.spec, final_config, std::string(run.arch->name));
        !why.empty()) {
      r.outcome = Outcome::skip;
      r.reason = why;
      write_result_json(dir / "result.json", r);
      status_.step(subject, "skip: " + why);
      return r;
    }
  }

  status_.step(subject, "writing the guest image");
  const int disk_mb = run.spec.machine.disk_mb;
  std::filesystem::path selftests;
  if (!run.spec.selftests.empty()) {
    auto it = artifact.selftests.find(run.spec.selftests);
    if (it == artifact.selftests.end() || it->second.empty()) {
      r.outcome = Outcome::infra;
      r.reason = fmt::format("selftests/{} could not be built for this kernel (see above)",
                             run.spec.selftests);
      write_result_json(dir / "result.json", r);
      return r;
    }
    selftests = it->second;
  }
  BootRequest req =
      write_guest(run, artifact.image, dir, AgentShell::none, recipe_, paths_, runner_, selftests);
  req.boot_timeout = job.timeouts.boot;
  req.run_timeout = job.timeouts.workload;

  // A report is shown as soon as its first line reaches console.log (the
  // backend tails it every 20 ms), not when the VM is over.
  double first_report = -1;
  std::set<std::string> shown;
  req.on_console = [&](const std::string& line, double seconds) {
    std::string title = report_start_title(line);
    if (title.empty() || !shown.insert(title).second) return;
    if (first_report < 0) first_report = seconds;
    status_.progress(subject, "console: " + title);
  };
  status_.step(subject, "booting");
  VmExit vm = backend_.run(req, [&](const std::string& line) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    std::string type = j.value("type", "");
    if (type == "ready") status_.progress(subject, "agent ready, running " + run.ref->id);
    if (type == "log") status_.progress(subject, j.value("message", ""));
    if (type == "snapshot") status_.progress(subject, "snapshot " + j.value("name", ""));
  });
  r.accel = std::string(to_string(vm.accel));
  r.accel_note = vm.accel_note;
  r.host = vm.host;
  r.infra_attempts = vm.infra_attempts;
  r.timings["boot"] = vm.boot_seconds;
  r.timings["vm_total"] = vm.total_seconds;
  if (vm.setup_seconds >= 0) r.timings["vm_setup"] = vm.setup_seconds;
  if (vm.teardown_seconds >= 0) r.timings["vm_teardown"] = vm.teardown_seconds;
  r.timings["boot_limit"] = vm.boot_limit_seconds;
  r.timings["workload_limit"] = vm.run_limit_seconds;
  if (vm.boot_seconds >= 0) r.timings["workload"] = vm.total_seconds - vm.boot_seconds;
  r.timings["total"] = artifact.build_seconds + vm.total_seconds;
  // Seconds from QEMU's start to the first report line on the console: with
  // vm_total, how long a splat (a panic) kept the VM going.
  if (first_report >= 0) r.timings["first_report"] = first_report;
  write_file(dir / "reproduce.sh", reproduce_script(vm.argv, disk_mb));
  make_executable(dir / "reproduce.sh");

  std::string console_text, records_text;
  read_file_if_exists(dir / "console.log", console_text);
  read_file_if_exists(dir / "records.jsonl", records_text);
  ConsoleReport console = parse_console(console_text);
  AgentRecords records = parse_records(records_text);
  r.console = console.findings;
  for (auto& f : r.console)
    f.tolerated = std::find(run.kernel->tolerate.begin(), run.kernel->tolerate.end(), f.title) !=
                  run.kernel->tolerate.end();

  std::vector<std::string> metric_errors;
  r.metrics = collect_metrics(run, records, metric_errors, &r.cases);
  // Each program's whole output beside the console: script.out,
  // test_memcontrol.ktap.
  for (const auto& o : records.outputs)
    write_file(dir / fmt::format("{}.{}", o.name, o.format == "ktap" ? "ktap" : "out"), o.text);
  if (records.done) r.assertions = evaluate_assertions(run.assertions, r.metrics);
  Verdict v = judge_run(vm, console, records, r.assertions, run.kernel->tolerate);
  r.outcome = v.outcome;
  r.reason = v.reason;
  if (r.outcome == Outcome::fail && r.reason.rfind("assertion failed", 0) == 0) {
    std::string failed;
    int n = 0;
    for (const auto& c : r.cases)
      if (c.status == "fail" && n++ < 3)
        failed += (failed.empty() ? "" : ", ") + c.program + "/" + c.name;
    if (!failed.empty()) r.reason += "; failed cases: " + failed + (n > 3 ? ", ..." : "");
  }
  write_result_json(dir / "result.json", r);
  status_.step(subject, fmt::format("{}{}{} (boot {:.1f} s, {} via {})", to_string(r.outcome),
                                    r.reason.empty() ? "" : ": ", r.reason, vm.boot_seconds,
                                    r.accel, vm.host.empty() ? run.arch->qemu_binary : vm.host));
  return r;
}

void Executor::write_summary(const Job& job, const std::vector<RunResult>& results,
                             const std::filesystem::path& out_dir) {
  std::vector<Outcome> outcomes;
  for (const auto& r : results) outcomes.push_back(r.outcome);
  write_file(out_dir / "summary.json",
             summary_json(job.name, results, exit_code_for(outcomes)).dump(2) + "\n");
  write_file(out_dir / "junit.xml", junit_xml(job.name, results));
  write_file(out_dir / "kcidb.json", kcidb_json(job.name, results, out_dir).dump(2) + "\n");
  write_file(out_dir / "results.ktap", ktap_export(job.name, results));
}

std::vector<RunResult> Executor::execute(const Job& job, const std::vector<PlannedRun>& plan,
                                         const ExecutorOptions& options) {
  const auto& out_dir = options.out_dir;
  ensure_dir(out_dir);
  write_file(out_dir / "job.yaml", job.text);
  recipe_ = load_image_recipe(paths_.image_recipe());
  std::vector<RunResult> results;
  std::mutex mu;

  // Builds are serial (one source tree at a time, all cores to make); the
  // runs of each built kernel then go out to up to `jobs` VMs at once.
  std::size_t i = 0;
  while (i < plan.size()) {
    const KernelSpec* kernel = plan[i].kernel;
    const ArchInfo* arch = plan[i].arch;
    std::size_t end = i;
    while (end < plan.size() && plan[end].kernel == kernel && plan[end].arch == arch) ++end;
    std::string subject = fmt::format("{}/{}", kernel->name, arch->name);

    Artifact artifact;
    try {
      status_.step(subject, "kernel");
      artifact =
          builder_.build(*kernel, *arch, job.base_dir, job.timeouts.build, plan[i].workload_config);
      status_.step(subject, artifact.from_cache
                                ? fmt::format("kernel {} from the cache ({})", artifact.release,
                                              artifact.key.substr(0, 12))
                                : fmt::format("built {} in {:.0f} s", artifact.release,
                                              artifact.build_seconds));
    } catch (const InfraError& e) {
      for (std::size_t k = i; k < end; ++k) {
        RunResult r;
        r.kernel.name = kernel->name;
        r.started = utc_timestamp();
        r.arch = std::string(arch->name);
        r.workload = plan[k].ref->id;
        r.workload_name = plan[k].spec.name;
        r.repeat = plan[k].repeat;
        r.params = plan[k].params;
        r.run_dir = plan[k].run_dir;
        r.outcome = Outcome::infra;
        r.reason = std::string("kernel build: ") + e.what();
        write_result_json(out_dir / r.run_dir / "result.json", r);
        results.push_back(std::move(r));
      }
      write_summary(job, results, out_dir);
      status_.warn(fmt::format("{}: {}", subject, e.what()));
      i = end;
      continue;
    } catch (...) {
      write_summary(job, results, out_dir);
      throw;
    }
    // Selftests the group's workloads run, built from the same tree. A
    // failure here is the runs' infra, not the job's end.
    for (std::size_t k = i; k < end; ++k) {
      const std::string& target = plan[k].spec.selftests;
      if (target.empty() || artifact.selftests.count(target)) continue;
      try {
        artifact.selftests[target] = builder_.build_selftests(
            *kernel, *arch, job.base_dir, plan[i].workload_config, target, job.timeouts.build);
      } catch (const InfraError& e) {
        artifact.selftests[target] = std::filesystem::path();
        status_.warn(fmt::format("{}: {}", subject, e.what()));
      }
    }

    std::atomic<std::size_t> next{i};
    std::exception_ptr fatal;
    auto worker = [&] {
      for (;;) {
        std::size_t k = next++;
        if (k >= end) return;
        {
          std::lock_guard lock(mu);
          if (fatal) return;
        }
        try {
          RunResult r = run_one(plan[k], artifact, job, out_dir);
          std::lock_guard lock(mu);
          results.push_back(std::move(r));
          write_summary(job, results, out_dir);
          if (interrupted() && !fatal)
            fatal = std::make_exception_ptr(Interrupted("running " + plan[k].run_dir));
        } catch (...) {
          std::lock_guard lock(mu);
          if (!fatal) fatal = std::current_exception();
          return;
        }
      }
    };
    int n = std::max(1, std::min<int>(options.jobs, static_cast<int>(end - i)));
    if (n == 1) {
      worker();
    } else {
      std::vector<std::thread> threads;
      for (int t = 0; t < n; ++t) threads.emplace_back(worker);
      for (auto& t : threads) t.join();
    }
    if (fatal) {
      write_summary(job, results, out_dir);
      std::rethrow_exception(fatal);
    }
    i = end;
  }
  write_summary(job, results, out_dir);
  return results;
}

}  // namespace kh
