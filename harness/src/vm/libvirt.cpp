#include "vm/libvirt.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "util/clock.h"
#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"
#include "vm/monitor.h"
#include "vm/qemu.h"
#include "vm/registry.h"

namespace kh {
namespace {

using Clock = SteadyClock;

// The host is gone or refuses us: the run is retried elsewhere.
struct HostError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string libvirt_message() {
  const char* m = virGetLastErrorMessage();
  std::string s = m ? m : "unknown libvirt error";
  virResetLastError();
  return s;
}

// libvirt prints every error to stderr by default; ours go into results.
void quiet_errors(void*, virErrorPtr) {}

// Streams and keepalive need an event loop; one thread runs the default
// implementation for the whole process. It must be registered before the
// first connection.
void ensure_event_loop() {
  static std::once_flag once;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, quiet_errors);
    if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
      throw InfraError("libvirt: cannot start its event loop: " + libvirt_message());
    std::thread([] {
      for (;;) virEventRunDefaultImpl();
    }).detach();
  });
}

// What a console stream delivered so far, filled by the event loop.
struct StreamBuffer {
  std::mutex mu;
  std::string data;
  bool ended = false;
  std::string error;
  std::string take(bool& ended_out) {
    std::lock_guard lock(mu);
    std::string s;
    s.swap(data);
    ended_out = ended;
    return s;
  }
};

void on_stream_event(virStreamPtr st, int events, void* opaque) {
  auto& b = **static_cast<std::shared_ptr<StreamBuffer>*>(opaque);
  char buf[16384];
  for (;;) {
    int n = virStreamRecv(st, buf, sizeof buf);
    if (n > 0) {
      std::lock_guard lock(b.mu);
      b.data.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == -2) break;  // nothing more for now
    std::lock_guard lock(b.mu);
    b.ended = true;
    if (n < 0) b.error = libvirt_message();
    virStreamEventRemoveCallback(st);
    return;
  }
  if (events & (VIR_STREAM_EVENT_HANGUP | VIR_STREAM_EVENT_ERROR)) {
    std::lock_guard lock(b.mu);
    b.ended = true;
    virStreamEventRemoveCallback(st);
  }
}

// A console of a domain opened as a non-blocking stream.
class ConsoleStream {
 public:
  ConsoleStream(virConnectPtr conn, virDomainPtr dom, const char* alias)
      : buffer_(std::make_shared<StreamBuffer>()) {
    st_ = virStreamNew(conn, VIR_STREAM_NONBLOCK);
    if (!st_) throw HostError(libvirt_message());
    if (virDomainOpenConsole(dom, alias, st_, VIR_DOMAIN_CONSOLE_FORCE) < 0)
      throw HostError(fmt::format("open console {}: {}", alias, libvirt_message()));
    auto* opaque = new std::shared_ptr<StreamBuffer>(buffer_);
    if (virStreamEventAddCallback(
            st_, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_HANGUP | VIR_STREAM_EVENT_ERROR,
            on_stream_event, opaque,
            [](void* p) { delete static_cast<std::shared_ptr<StreamBuffer>*>(p); }) < 0) {
      delete opaque;
      throw HostError(libvirt_message());
    }
  }
  ~ConsoleStream() {
    if (!st_) return;
    virStreamEventRemoveCallback(st_);
    virStreamAbort(st_);
    virStreamFree(st_);
    virResetLastError();
  }
  ConsoleStream(const ConsoleStream&) = delete;
  ConsoleStream& operator=(const ConsoleStream&) = delete;
  // Outlives the stream: what it delivered stays readable after a close.
  std::shared_ptr<StreamBuffer> buffer() const { return buffer_; }

 private:
  virStreamPtr st_ = nullptr;
  std::shared_ptr<StreamBuffer> buffer_;
};

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

// Sparse upload callbacks over a file descriptor: holes (an mkfs'ed scratch
// image is mostly holes) are sent as holes, not as zeros.
int upload_read(virStreamPtr, char* data, size_t n, void* opaque) {
  int fd = *static_cast<int*>(opaque);
  return static_cast<int>(::read(fd, data, n));
}
int upload_hole(virStreamPtr, int* in_data, long long* length, void* opaque) {
  int fd = *static_cast<int*>(opaque);
  off_t cur = ::lseek(fd, 0, SEEK_CUR);
  off_t end = ::lseek(fd, 0, SEEK_END);
  off_t data = ::lseek(fd, cur, SEEK_DATA);
  if (data < 0) {  // ENXIO: a hole up to the end
    *in_data = 0;
    *length = end - cur;
  } else if (data > cur) {
    *in_data = 0;
    *length = data - cur;
  } else {
    off_t hole = ::lseek(fd, cur, SEEK_HOLE);
    *in_data = 1;
    *length = hole - cur;
  }
  ::lseek(fd, cur, SEEK_SET);
  return 0;
}
int upload_skip(virStreamPtr, long long length, void* opaque) {
  int fd = *static_cast<int*>(opaque);
  return ::lseek(fd, length, SEEK_CUR) < 0 ? -1 : 0;
}

std::string arch_of_table(std::string_view libvirt_arch) {
  if (libvirt_arch == "aarch64") return "arm64";
  return std::string(libvirt_arch);
}

std::string libvirt_arch_name(const ArchInfo& a) {
  return a.name == "arm64" ? "aarch64" : std::string(a.name);
}

const bool kRegistered =
    register_backend("libvirt", [](const BackendDeps& d) -> std::unique_ptr<Backend> {
      return std::make_unique<LibvirtBackend>(LibvirtOptions{d.uri, d.pool, d.pool_dir, d.accel});
    });

}  // namespace

std::string libvirt_domain_xml(const BootRequest& req, const std::string& name,
                               const DomainFiles& files, Accel accel) {
  const ArchInfo& a = *req.arch;
  // Virtio over MMIO where the guest has no PCI (arm64's config); libvirt
  // would put the devices on PCIe there otherwise.
  const bool mmio = a.virtio_bus == "device";
  pugi::xml_document doc;
  auto dom = doc.append_child("domain");
  dom.append_attribute("type") = accel == Accel::kvm ? "kvm" : "qemu";
  dom.append_child("name").text() = name.c_str();
  const int nodes = req.machine.numa_nodes > 1 ? req.machine.numa_nodes : 0;
  const int cell_mb = nodes ? req.machine.memory_mb / nodes : 0;
  auto mem = dom.append_child("memory");
  mem.append_attribute("unit") = "MiB";
  mem.text() = nodes ? cell_mb * nodes : req.machine.memory_mb;
  dom.append_child("vcpu").text() = req.machine.cpus;

  auto os = dom.append_child("os");
  auto type = os.append_child("type");
  type.append_attribute("arch") = libvirt_arch_name(a).c_str();
  type.append_attribute("machine") = std::string(a.qemu_machine).c_str();
  type.text() = "hvm";
  os.append_child("kernel").text() = files.kernel.c_str();
  os.append_child("initrd").text() = files.initrd.c_str();
  std::string cmdline = base_cmdline(a);
  if (!req.machine.cmdline.empty()) cmdline += " " + req.machine.cmdline;
  os.append_child("cmdline").text() = cmdline.c_str();
  // x86_64 guests get ACPI, as from QEMU's pc machine by default (-smp
  // needs it to show the CPUs); arm64's virt needs UEFI for ACPI and runs
  // from the device tree instead.
  if (a.name == "x86_64") dom.append_child("features").append_child("acpi");

  auto cpu = dom.append_child("cpu");
  if (accel == Accel::kvm) {
    cpu.append_attribute("mode") = "host-passthrough";
  } else {
    cpu.append_attribute("mode") = "maximum";  // -cpu max, as the qemu backend
    cpu.append_attribute("check") = "none";
  }
  if (nodes) {
    auto numa = cpu.append_child("numa");
    const int per = req.machine.cpus / nodes;
    for (int i = 0; i < nodes; ++i) {
      auto cell = numa.append_child("cell");
      cell.append_attribute("id") = i;
      if (per == 1) cell.append_attribute("cpus") = std::to_string(i).c_str();
      if (per > 1)
        cell.append_attribute("cpus") = fmt::format("{}-{}", i * per, (i + 1) * per - 1).c_str();
      cell.append_attribute("memory") = cell_mb;
      cell.append_attribute("unit") = "MiB";
    }
  }
  dom.append_child("clock").append_attribute("offset") = "utc";
  // panic=-1 makes a panic a reboot; every way out ends the domain, which
  // (transient) is then gone. (The qemu driver has no "preserve".)
  for (const char* e : {"on_poweroff", "on_reboot", "on_crash"})
    dom.append_child(e).text() = "destroy";

  auto devices = dom.append_child("devices");
  auto mmio_address = [&](pugi::xml_node n) {
    if (mmio) n.append_child("address").append_attribute("type") = "virtio-mmio";
  };
  auto usb = devices.append_child("controller");
  usb.append_attribute("type") = "usb";
  usb.append_attribute("model") = "none";
  auto vser = devices.append_child("controller");
  vser.append_attribute("type") = "virtio-serial";
  vser.append_attribute("index") = 0;
  mmio_address(vser);
  for (std::size_t i = 0; i < files.disks.size(); ++i) {
    auto disk = devices.append_child("disk");
    disk.append_attribute("type") = "file";
    disk.append_attribute("device") = "disk";
    auto driver = disk.append_child("driver");
    driver.append_attribute("name") = "qemu";
    driver.append_attribute("type") = "raw";
    disk.append_child("source").append_attribute("file") = files.disks[i].c_str();
    auto target = disk.append_child("target");
    target.append_attribute("dev") = fmt::format("vd{}", static_cast<char>('a' + i)).c_str();
    target.append_attribute("bus") = "virtio";
    mmio_address(disk);
  }
  // The kernel console (ttyS0 / ttyAMA0): alias serial0.
  auto serial = devices.append_child("serial");
  serial.append_attribute("type") = "pty";
  serial.append_child("target").append_attribute("port") = 0;
  // The agent's records: the first virtio console, /dev/hvc0 in the guest;
  // alias console1.
  auto records = devices.append_child("console");
  records.append_attribute("type") = "pty";
  auto rt = records.append_child("target");
  rt.append_attribute("type") = "virtio";
  rt.append_attribute("port") = 1;
  devices.append_child("memballoon").append_attribute("model") = "none";

  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  return out.str();
}

std::vector<std::string> capability_arches(const std::string& capabilities_xml) {
  pugi::xml_document doc;
  std::vector<std::string> out;
  if (!doc.load_string(capabilities_xml.c_str())) return out;
  for (auto guest : doc.child("capabilities").children("guest")) {
    std::string name = arch_of_table(guest.child("arch").attribute("name").value());
    if (find_arch(name) && std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
  }
  return out;
}

// One host: the connection, the pool, the kernels uploaded once per job.
struct LibvirtBackend::Host {
  virConnectPtr conn = nullptr;
  virStoragePoolPtr pool = nullptr;
  std::mutex mu;                                // uploaded
  std::map<std::string, std::string> uploaded;  // file identity -> volume path
  std::atomic<int> counter{0};
  // Domains whose guest has ended (a lifecycle event: shut down, stopped or
  // crashed), by name. Events come on the event loop thread and cost no
  // round trip, while a state query blocks as long as libvirt tears the
  // domain down.
  std::mutex events_mu;
  std::set<std::string> ended;
  int callback_id = -1;

  static int on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int, void* opaque) {
    if (event == VIR_DOMAIN_EVENT_SHUTDOWN || event == VIR_DOMAIN_EVENT_STOPPED ||
        event == VIR_DOMAIN_EVENT_CRASHED) {
      auto* h = static_cast<Host*>(opaque);
      std::lock_guard lock(h->events_mu);
      h->ended.insert(virDomainGetName(dom));
    }
    return 0;
  }
  bool has_ended(const std::string& name) {
    std::lock_guard lock(events_mu);
    return ended.count(name) > 0;
  }
  // Domains whose guest has ended, their consoles closed: a thread each
  // destroys the domain (QEMU's exit and libvirt's clean-up take a second
  // or two) and deletes the run's volumes, so the run does not wait for
  // it. All are joined before the pool goes.
  std::mutex reapers_mu;
  std::vector<std::thread> reapers;

  void reap(virDomainPtr dom, std::vector<std::string> volumes,
            std::vector<std::unique_ptr<ConsoleStream>> streams) {
    std::lock_guard lock(reapers_mu);
    reapers.emplace_back(
        [this, dom, volumes = std::move(volumes), streams = std::move(streams)]() mutable {
          // libvirt 9.0 can deadlock when a console stream is closed while the
          // domain it belongs to is being disposed of (virChrdevFree against
          // the stream's close callback, each holding the other's lock). So the
          // streams stay open until libvirt's own destroy (on_poweroff) is well
          // over.
          auto until = Clock::now() + std::chrono::seconds(30);
          while (virDomainIsActive(dom) == 1 && Clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          if (virDomainIsActive(dom) == 1) {
            streams.clear();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            virDomainDestroy(dom);
          } else {
            std::this_thread::sleep_for(std::chrono::seconds(1));
            streams.clear();
          }
          virDomainFree(dom);
          if (virConnectIsAlive(conn) == 1)
            for (const auto& v : volumes) delete_volume(v);
          virResetLastError();
        });
  }

  ~Host() {
    {
      std::lock_guard lock(reapers_mu);
      for (auto& t : reapers) t.join();
    }
    if (pool && conn && virConnectIsAlive(conn) == 1) {
      virStorageVolPtr* vols = nullptr;
      int n = virStoragePoolListAllVolumes(pool, &vols, 0);
      for (int i = 0; i < n; ++i) {
        virStorageVolDelete(vols[i], 0);
        virStorageVolFree(vols[i]);
      }
      free(vols);
      virStoragePoolDestroy(pool);
      virStoragePoolDelete(pool, 0);
      virStoragePoolUndefine(pool);
    }
    if (pool) virStoragePoolFree(pool);
    if (conn && callback_id >= 0) virConnectDomainEventDeregisterAny(conn, callback_id);
    if (conn) virConnectClose(conn);
    virResetLastError();
  }

  // Uploads a local file as a new volume; returns its path on the host.
  std::string upload(const std::filesystem::path& file, const std::string& vol_name) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InfraError(fmt::format("{}: cannot read it", file.string()));
    struct stat st {};
    ::fstat(fd, &st);
    std::string xml = fmt::format(
        "<volume><name>{}</name><capacity unit='bytes'>{}</capacity>"
        "<target><format type='raw'/></target></volume>",
        vol_name, st.st_size);
    virStorageVolPtr vol = virStorageVolCreateXML(pool, xml.c_str(), 0);
    if (!vol) {
      ::close(fd);
      throw HostError(fmt::format("create volume {}: {}", vol_name, libvirt_message()));
    }
    virStreamPtr s = virStreamNew(conn, 0);
    bool ok = s &&
              virStorageVolUpload(vol, s, 0, static_cast<unsigned long long>(st.st_size),
                                  VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) == 0 &&
              virStreamSparseSendAll(s, upload_read, upload_hole, upload_skip, &fd) == 0 &&
              virStreamFinish(s) == 0;
    std::string err = ok ? "" : libvirt_message();
    if (!ok && s) virStreamAbort(s);
    if (s) virStreamFree(s);
    ::close(fd);
    char* path = ok ? virStorageVolGetPath(vol) : nullptr;
    std::string out = path ? path : "";
    free(path);
    if (out.empty()) {
      virStorageVolDelete(vol, 0);
      virStorageVolFree(vol);
      throw HostError(
          fmt::format("upload {}: {}", vol_name, err.empty() ? libvirt_message() : err));
    }
    virStorageVolFree(vol);
    return out;
  }

  // A kernel is uploaded once per host and job, named by its identity.
  std::string upload_kernel(const std::filesystem::path& kernel) {
    struct stat st {};
    ::stat(kernel.c_str(), &st);
    std::string id = Hasher()
                         .feed(kernel.string())
                         .feed(std::to_string(st.st_size))
                         .feed(std::to_string(st.st_mtim.tv_sec))
                         .feed(std::to_string(st.st_mtim.tv_nsec))
                         .hex()
                         .substr(0, 16);
    std::lock_guard lock(mu);
    auto it = uploaded.find(id);
    if (it != uploaded.end()) return it->second;
    std::string path = upload(kernel, "kernel-" + id);
    uploaded[id] = path;
    return path;
  }

  void delete_volume(const std::string& path) {
    if (virStorageVolPtr v = virStorageVolLookupByPath(conn, path.c_str())) {
      virStorageVolDelete(v, 0);
      virStorageVolFree(v);
    }
    virResetLastError();
  }
};

namespace {

// A running domain as the monitor sees it: its serial console and the
// agent's console as streams, copied into console.log and records.jsonl as
// they arrive; its end from the host's lifecycle events or, for a domain
// that vanished without one, its state.
class DomainSession : public GuestSession {
 public:
  // Opens both consoles; the domain is still paused, so no byte is missed.
  DomainSession(LibvirtBackend::Host& host, virDomainPtr dom, std::string name,
                const std::filesystem::path& run_dir)
      : host_(host),
        dom_(dom),
        name_(std::move(name)),
        console_(std::make_unique<ConsoleStream>(host.conn, dom, "serial0")),
        records_(std::make_unique<ConsoleStream>(host.conn, dom, "console1")),
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
      if (!gone || virConnectIsAlive(host_.conn) != 1)
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
  // Host::reap).
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

  LibvirtBackend::Host& host_;
  virDomainPtr dom_;
  std::string name_;
  std::unique_ptr<ConsoleStream> console_, records_;
  StreamFile console_file_, records_file_;
  bool console_ended_ = false, records_ended_ = false, stopped_ = false;
  Clock::time_point last_check_ = Clock::now();
};

}  // namespace

LibvirtBackend::LibvirtBackend(LibvirtOptions options)
    : options_(std::move(options)), uri_tag_(Hasher().feed(options_.uri).hex().substr(0, 6)) {
  ensure_event_loop();
}

LibvirtBackend::~LibvirtBackend() = default;

LibvirtBackend::Host& LibvirtBackend::host() {
  std::lock_guard lock(mu_);
  if (host_ && virConnectIsAlive(host_->conn) == 1) return *host_;
  if (host_) throw HostError(fmt::format("connection to {} lost", options_.uri));
  auto h = std::make_unique<Host>();
  h->conn = virConnectOpen(options_.uri.c_str());
  if (!h->conn)
    throw HostError(
        fmt::format("cannot connect to {}: {} (is libvirtd running there? `kharness "
                    "doctor` checks the local one)",
                    options_.uri, libvirt_message()));
  // A host that stops answering is given up after ~10 s.
  virConnectSetKeepAlive(h->conn, 3, 3);
  virResetLastError();
  h->callback_id = virConnectDomainEventRegisterAny(h->conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    VIR_DOMAIN_EVENT_CALLBACK(Host::on_lifecycle),
                                                    h.get(), nullptr);
  virResetLastError();
  std::string dir = options_.pool_dir + "/" + options_.pool;
  h->pool = virStoragePoolLookupByName(h->conn, options_.pool.c_str());
  virResetLastError();
  if (!h->pool) {
    std::string xml =
        fmt::format("<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>",
                    options_.pool, dir);
    h->pool = virStoragePoolDefineXML(h->conn, xml.c_str(), 0);
    if (!h->pool || virStoragePoolBuild(h->pool, 0) < 0)
      throw HostError(fmt::format("{}: cannot make storage pool {} in {}: {}", options_.uri,
                                  options_.pool, dir, libvirt_message()));
  }
  if (virStoragePoolIsActive(h->pool) != 1 && virStoragePoolCreate(h->pool, 0) < 0)
    throw HostError(fmt::format("{}: cannot start storage pool {}: {}", options_.uri, options_.pool,
                                libvirt_message()));
  host_ = std::move(h);
  return *host_;
}

std::vector<std::string> LibvirtBackend::arches() {
  try {
    Host& h = host();
    char* caps = virConnectGetCapabilities(h.conn);
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

  Host* h = nullptr;
  std::vector<std::string> run_volumes;
  virDomainPtr dom = nullptr;
  auto cleanup = [&] {
    if (dom) {
      if (virDomainIsActive(dom) == 1) virDomainDestroy(dom);
      virDomainFree(dom);
      dom = nullptr;
    }
    if (h && virConnectIsAlive(h->conn) == 1)
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
    name = fmt::format("{}-{}-{}", options_.pool, uri_tag_, ++h->counter);
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
    dom = virDomainCreateXML(h->conn, xml.c_str(),
                             VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);
    if (!dom) {
      std::string why = libvirt_message();
      if (virConnectIsAlive(h->conn) != 1) throw HostError(why);
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
    // domain down (see Host::reap): they go to the reaper after the
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
