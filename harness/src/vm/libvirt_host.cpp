#include "vm/libvirt_host.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libvirt/virterror.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/hash.h"

namespace kh {
namespace {

using Clock = SteadyClock;

// libvirt prints every error to stderr by default; ours go into results.
void quiet_errors(void*, virErrorPtr) {}

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

}  // namespace

std::string libvirt_message() {
  const char* m = virGetLastErrorMessage();
  std::string s = m ? m : "unknown libvirt error";
  virResetLastError();
  return s;
}

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

std::string StreamBuffer::take(bool& ended_out) {
  std::lock_guard lock(mu);
  std::string s;
  s.swap(data);
  ended_out = ended;
  return s;
}

ConsoleStream::ConsoleStream(virConnectPtr conn, virDomainPtr dom, const char* alias)
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

ConsoleStream::~ConsoleStream() {
  if (!st_) return;
  virStreamEventRemoveCallback(st_);
  virStreamAbort(st_);
  virStreamFree(st_);
  virResetLastError();
}

LibvirtHost::LibvirtHost(const std::string& uri, const std::string& pool,
                         const std::string& pool_dir) {
  conn_ = virConnectOpen(uri.c_str());
  if (!conn_)
    throw HostError(
        fmt::format("cannot connect to {}: {} (is libvirtd running there? `kharness "
                    "doctor` checks the local one)",
                    uri, libvirt_message()));
  try {
    // A host that stops answering is given up after ~10 s.
    virConnectSetKeepAlive(conn_, 3, 3);
    virResetLastError();
    callback_id_ =
        virConnectDomainEventRegisterAny(conn_, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), this, nullptr);
    virResetLastError();
    std::string dir = pool_dir + "/" + pool;
    pool_ = virStoragePoolLookupByName(conn_, pool.c_str());
    virResetLastError();
    if (!pool_) {
      std::string xml = fmt::format(
          "<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>", pool, dir);
      pool_ = virStoragePoolDefineXML(conn_, xml.c_str(), 0);
      if (!pool_ || virStoragePoolBuild(pool_, 0) < 0)
        throw HostError(fmt::format("{}: cannot make storage pool {} in {}: {}", uri, pool, dir,
                                    libvirt_message()));
    }
    if (virStoragePoolIsActive(pool_) != 1 && virStoragePoolCreate(pool_, 0) < 0)
      throw HostError(
          fmt::format("{}: cannot start storage pool {}: {}", uri, pool, libvirt_message()));
  } catch (...) {
    release();
    throw;
  }
}

LibvirtHost::~LibvirtHost() {
  {
    std::lock_guard lock(reapers_mu_);
    for (auto& t : reapers_) t.join();
  }
  release();
}

void LibvirtHost::release() {
  if (pool_ && conn_ && virConnectIsAlive(conn_) == 1) {
    virStorageVolPtr* vols = nullptr;
    int n = virStoragePoolListAllVolumes(pool_, &vols, 0);
    for (int i = 0; i < n; ++i) {
      virStorageVolDelete(vols[i], 0);
      virStorageVolFree(vols[i]);
    }
    free(vols);
    virStoragePoolDestroy(pool_);
    virStoragePoolDelete(pool_, 0);
    virStoragePoolUndefine(pool_);
  }
  if (pool_) virStoragePoolFree(pool_);
  pool_ = nullptr;
  if (conn_ && callback_id_ >= 0) virConnectDomainEventDeregisterAny(conn_, callback_id_);
  callback_id_ = -1;
  if (conn_) virConnectClose(conn_);
  conn_ = nullptr;
  virResetLastError();
}

int LibvirtHost::on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int, void* opaque) {
  if (event == VIR_DOMAIN_EVENT_SHUTDOWN || event == VIR_DOMAIN_EVENT_STOPPED ||
      event == VIR_DOMAIN_EVENT_CRASHED) {
    auto* h = static_cast<LibvirtHost*>(opaque);
    std::lock_guard lock(h->events_mu_);
    h->ended_.insert(virDomainGetName(dom));
  }
  return 0;
}

bool LibvirtHost::has_ended(const std::string& domain_name) {
  std::lock_guard lock(events_mu_);
  return ended_.count(domain_name) > 0;
}

void LibvirtHost::reap(virDomainPtr dom, std::vector<std::string> volumes,
                       std::vector<std::unique_ptr<ConsoleStream>> streams) {
  std::lock_guard lock(reapers_mu_);
  reapers_.emplace_back(
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
        if (virConnectIsAlive(conn_) == 1)
          for (const auto& v : volumes) delete_volume(v);
        virResetLastError();
      });
}

std::string LibvirtHost::upload(const std::filesystem::path& file, const std::string& vol_name) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InfraError(fmt::format("{}: cannot read it", file.string()));
  struct stat st {};
  ::fstat(fd, &st);
  std::string xml = fmt::format(
      "<volume><name>{}</name><capacity unit='bytes'>{}</capacity>"
      "<target><format type='raw'/></target></volume>",
      vol_name, st.st_size);
  virStorageVolPtr vol = virStorageVolCreateXML(pool_, xml.c_str(), 0);
  if (!vol) {
    ::close(fd);
    throw HostError(fmt::format("create volume {}: {}", vol_name, libvirt_message()));
  }
  virStreamPtr s = virStreamNew(conn_, 0);
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
    throw HostError(fmt::format("upload {}: {}", vol_name, err.empty() ? libvirt_message() : err));
  }
  virStorageVolFree(vol);
  return out;
}

std::string LibvirtHost::upload_kernel(const std::filesystem::path& kernel) {
  struct stat st {};
  ::stat(kernel.c_str(), &st);
  std::string id = Hasher()
                       .feed(kernel.string())
                       .feed(std::to_string(st.st_size))
                       .feed(std::to_string(st.st_mtim.tv_sec))
                       .feed(std::to_string(st.st_mtim.tv_nsec))
                       .hex()
                       .substr(0, 16);
  std::lock_guard lock(uploaded_mu_);
  auto it = uploaded_.find(id);
  if (it != uploaded_.end()) return it->second;
  std::string path = upload(kernel, "kernel-" + id);
  uploaded_[id] = path;
  return path;
}

void LibvirtHost::delete_volume(const std::string& path) {
  if (virStorageVolPtr v = virStorageVolLookupByPath(conn_, path.c_str())) {
    virStorageVolDelete(v, 0);
    virStorageVolFree(v);
  }
  virResetLastError();
}

}  // namespace kh
