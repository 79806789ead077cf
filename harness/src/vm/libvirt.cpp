#include "vm/libvirt.h"

#include <fmt/format.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <fstream>
#include <thread>

#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"
#include "vm/libvirt_domain.h"
#include "vm/libvirt_host.h"
#include "vm/monitor.h"
#include "vm/qemu.h"
#include "vm/registry.h"

namespace kh {
namespace {

using Clock = SteadyClock;

// Appends what a stream delivered to a file in the run folder.
class StreamFile {
 public:
  StreamFile(std::shared_ptr<StreamBuffer> buffer, const std::filesystem::path& file)
      : buffer_(std::move(buffer)), out_(file, std::ios::binary | std::ios::trunc) {}
  // What arrived since the last call; `ended` when the stream hung up.
  std::string take(bool& ended) {
    std::string chunk = buffer_->take(ended);
    if (!chunk.empty()) {
      out_.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      out_.flush();
    }
    return chunk;
  }

 private:
  std::shared_ptr<StreamBuffer> buffer_;
  std::ofstream out_;
};

// A running domain as the monitor sees it: its serial console and the
// agent's console as streams, copied into console.log and records.jsonl as
// they arrive; its end from the host's lifecycle events or, for a domain
// that vanished without one, its state.
class DomainSession : public GuestSession {
 public:
  // Opens both consoles; the domain is still paused, so no byte is missed.
  DomainSession(LibvirtHost& host, virDomainPtr dom, std::string name,
                const std::filesystem::path& run_dir)
      : host_(host),
        dom_(dom),
        name_(std::move(name)),
        console_(std::make_unique<ConsoleStream>(host.conn(), dom, "serial0")),
        records_(std::make_unique<ConsoleStream>(host.conn(), dom, "console1")),
        console_file_(console_->buffer(), run_dir / "console.log"),
        records_file_(records_->buffer(), run_dir / "records.jsonl") {}

  GuestOutput read() override {
    GuestOutput out;
    out.console = console_file_.take(console_ended_);
    out.records = records_file_.take(records_ended_);
    // Closed streams (stop) deliver nothing more.
    out.ended = stopped_ || (console_ended_ && records_ended_);
    return out;
  }

  std::optional<GuestEnd> poll_end() override {
    // The guest's end comes as a lifecycle event. The domain's state is
    // asked too, once a second or when a console hung up, for a domain
    // that vanished without one; it costs a round trip and blocks while
    // libvirt tears the domain down.
    if (host_.has_ended(name_)) return GuestEnd{};
    if (!console_ended_ && !records_ended_ && Clock::now() - last_check_ <= std::chrono::seconds(1))
      return std::nullopt;
    last_check_ = Clock::now();
    int state = 0, reason = 0;
    if (virDomainGetState(dom_, &state, &reason, 0) < 0) {
      bool gone = virGetLastErrorCode() == VIR_ERR_NO_DOMAIN;
      std::string why = libvirt_message();
      if (!gone || virConnectIsAlive(host_.conn()) != 1)
        throw HostError(fmt::format("lost the domain {}: {}", name_, why));
      return GuestEnd{};  // gone by itself
    }
    // The guest powered off, or reset after a panic (panic=-1): its vCPUs
    // are stopped and libvirt is destroying the domain. Nothing more is
    // said; what was said is drained without waiting for QEMU's exit.
    if (state == VIR_DOMAIN_SHUTDOWN || state == VIR_DOMAIN_SHUTOFF ||
        state == VIR_DOMAIN_CRASHED ||
        (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_SHUTTING_DOWN))
      return GuestEnd{};
    return std::nullopt;
  }

  // Ours to destroy (a deadline, Ctrl-C): the streams close first (see
  // LibvirtHost::reap).
  void stop() override {
    close_streams();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (virDomainIsActive(dom_) == 1) virDomainDestroy(dom_);
    virResetLastError();
    stopped_ = true;
  }

  // After the guest's own end: the open streams, for the reaper to close
  // once libvirt has disposed of the domain.
  std::vector<std::unique_ptr<ConsoleStream>> release_streams() {
    std::vector<std::unique_ptr<ConsoleStream>> streams;
    streams.push_back(std::move(console_));
    streams.push_back(std::move(records_));
    return streams;
  }

 private:
  void close_streams() {
    console_.reset();
    records_.reset();
  }

  LibvirtHost& host_;
  virDomainPtr dom_;
  std::string name_;
  std::unique_ptr<ConsoleStream> console_, records_;
  StreamFile console_file_, records_file_;
  bool console_ended_ = false, records_ended_ = false, stopped_ = false;
  Clock::time_point last_check_ = Clock::now();
};

const bool kRegistered =
    register_backend("libvirt", [](const BackendDeps& d) -> std::unique_ptr<Backend> {
      return std::make_unique<LibvirtBackend>(LibvirtOptions{d.uri, d.pool, d.pool_dir, d.accel});
    });

}  // namespace

LibvirtBackend::LibvirtBackend(LibvirtOptions options)
    : options_(std::move(options)), uri_tag_(Hasher().feed(options_.uri).hex().substr(0, 6)) {
  ensure_event_loop();
}

LibvirtBackend::~LibvirtBackend() = default;

LibvirtHost& LibvirtBackend::host() {
  std::lock_guard lock(mu_);
  if (host_ && host_->alive()) return *host_;
  if (host_) throw HostError(fmt::format("connection to {} lost", options_.uri));
  host_ = std::make_unique<LibvirtHost>(options_.uri, options_.pool, options_.pool_dir);
  return *host_;
}

std::vector<std::string> LibvirtBackend::arches() {
  try {
    char* caps = virConnectGetCapabilities(host().conn());
    if (!caps) throw HostError(libvirt_message());
    std::string s = caps;
    free(caps);
    return capability_arches(s);
  } catch (const HostError& e) {
    throw InfraError(e.what());
  }
}

VmExit LibvirtBackend::attach(const BootRequest&) {
  throw InputError(
      "the libvirt backend does not attach a terminal: use `kharness boot --backend qemu`, or "
      "`virsh console` on a domain of yours");
}

VmExit LibvirtBackend::run(const BootRequest& req, const RecordSink& on_record) {
  VmExit out;
  out.host = options_.uri;
  out.accel = options_.accel == "kvm" ? Accel::kvm : Accel::tcg;
  out.accel_note = out.accel == Accel::kvm
                       ? "KVM requested (--accel kvm), libvirt domain type kvm"
                       : "TCG: libvirt domain type qemu (the libvirt backend runs KVM only with "
                         "--accel kvm)";
  const Deadlines deadlines = deadlines_for(req, out.accel);
  out.boot_limit_seconds = static_cast<double>(deadlines.boot.count()) / 1000;
  out.run_limit_seconds = static_cast<double>(deadlines.run.count()) / 1000;
  // reproduce.sh replays the run under plain QEMU on this machine.
  out.argv = qemu_argv(req, out.accel);
  for (const char* f : {"console.log", "records.jsonl"}) write_file(req.run_dir / f, "");
  const auto start = Clock::now();

  LibvirtHost* h = nullptr;
  std::vector<std::string> run_volumes;
  virDomainPtr dom = nullptr;
  auto cleanup = [&] {
    if (dom) {
      if (virDomainIsActive(dom) == 1) virDomainDestroy(dom);
      virDomainFree(dom);
      dom = nullptr;
    }
    if (h && h->alive())
      for (const auto& v : run_volumes) h->delete_volume(v);
    virResetLastError();
  };
  auto host_failed = [&](const std::string& why) {
    out.kind = VmExitKind::host_failed;
    out.vm_output = fmt::format("{}: {}", options_.uri, why);
    out.total_seconds = seconds_since(start);
    return out;
  };

  std::string name;
  try {
    h = &host();
    name = fmt::format("{}-{}-{}", options_.pool, uri_tag_, h->next_domain_number());
    DomainFiles files;
    files.kernel = h->upload_kernel(req.kernel);
    files.initrd = h->upload(req.initrd, name + "-initramfs.cpio");
    run_volumes.push_back(files.initrd);
    for (std::size_t i = 0; i < req.machine.disks.size(); ++i) {
      files.disks.push_back(h->upload(req.machine.disks[i], fmt::format("{}-disk{}.img", name, i)));
      run_volumes.push_back(files.disks.back());
    }
    std::string xml = libvirt_domain_xml(req, name, files, out.accel);
    write_file(req.run_dir / "domain.xml", xml);
    // Paused until both consoles are open, so no byte is missed;
    // autodestroy: the domain goes when this connection does (kharness
    // killed), so none is ever left behind.
    dom = virDomainCreateXML(h->conn(), xml.c_str(),
                             VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);
    if (!dom) {
      std::string why = libvirt_message();
      if (virConnectIsAlive(h->conn()) != 1) throw HostError(why);
      cleanup();
      out.kind = VmExitKind::vm_failed;
      out.vm_output = why;
      out.total_seconds = seconds_since(start);
      return out;
    }
  } catch (const HostError& e) {
    cleanup();
    return host_failed(e.what());
  } catch (...) {
    cleanup();
    throw;
  }

  try {
    // The session's streams are never closed while libvirt tears their
    // domain down (see LibvirtHost::reap): they go to the reaper after the
    // guest's own end, and close before a destroy of ours (stop, and
    // cleanup after an error, which runs once the session is gone).
    DomainSession session(*h, dom, name, req.run_dir);
    if (virDomainResume(dom) < 0) throw HostError("resume: " + libvirt_message());
    out.setup_seconds = seconds_since(start);
    VmExit watched = monitor_guest(session, deadlines, start, req.on_console, on_record);
    out.kind = watched.kind;
    out.exit_code = watched.exit_code;
    out.boot_seconds = watched.boot_seconds;
    if (out.kind == VmExitKind::powered_off) {
      // libvirt's tear-down (QEMU's exit, the domain's clean-up) takes a
      // second or two; the next run need not wait for it.
      h->reap(dom, std::move(run_volumes), session.release_streams());
      dom = nullptr;
      run_volumes.clear();
    }
  } catch (const HostError& e) {
    cleanup();
    return host_failed(e.what());
  } catch (...) {
    cleanup();
    throw;
  }
  auto teardown = Clock::now();
  cleanup();
  out.teardown_seconds = seconds_since(teardown);
  out.total_seconds = seconds_since(start);
  return out;
}

}  // namespace kh
