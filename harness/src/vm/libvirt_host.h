// One libvirt host as the libvirt backend (vm/libvirt.h) uses it: the
// connection and its lifecycle events, the storage pool made for the job,
// uploads into it, the domains' console streams, and the reapers that
// dispose of ended domains. Also the process-wide libvirt event loop that
// streams and keepalive need. For vm/libvirt*.cpp only.
#pragma once

#include <libvirt/libvirt.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kh {

// The host is gone or refuses us: the run is retried elsewhere.
struct HostError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// libvirt's last error message (then reset).
std::string libvirt_message();

// Starts the one event loop thread of the process; must run before the
// first connection. Throws InfraError when libvirt cannot start it.
void ensure_event_loop();

// What a console stream delivered so far, filled by the event loop.
struct StreamBuffer {
  std::mutex mu;
  std::string data;
  bool ended = false;
  std::string error;
  // Empties the buffer; `ended_out`: the stream hung up.
  std::string take(bool& ended_out);
};

// A console of a domain (its alias: serial0, console1) opened as a
// non-blocking stream whose callbacks fill a StreamBuffer on the event
// loop. Closed when destroyed; see LibvirtHost::reap for when that is safe.
// Throws HostError when the console cannot be opened.
class ConsoleStream {
 public:
  ConsoleStream(virConnectPtr conn, virDomainPtr dom, const char* alias);
  ~ConsoleStream();
  ConsoleStream(const ConsoleStream&) = delete;
  ConsoleStream& operator=(const ConsoleStream&) = delete;
  // Outlives the stream: what it delivered stays readable after a close.
  std::shared_ptr<StreamBuffer> buffer() const { return buffer_; }

 private:
  virStreamPtr st_ = nullptr;
  std::shared_ptr<StreamBuffer> buffer_;
};

class LibvirtHost {
 public:
  // Connects to `uri` (keepalive: a host that stops answering is given up
  // after ~10 s), listens to its domains' lifecycle events, and finds or
  // makes the directory pool `pool` in `pool_dir`/`pool`. Throws HostError.
  LibvirtHost(const std::string& uri, const std::string& pool, const std::string& pool_dir);
  // Joins the reapers, then deletes every volume, the pool and the
  // connection.
  ~LibvirtHost();
  LibvirtHost(const LibvirtHost&) = delete;
  LibvirtHost& operator=(const LibvirtHost&) = delete;

  virConnectPtr conn() const { return conn_; }
  bool alive() const { return virConnectIsAlive(conn_) == 1; }
  // 1, 2, ...: for domain names unique on this host.
  int next_domain_number() { return ++counter_; }

  // Uploads a local file as a new volume (holes sent as holes); returns
  // its path on the host. Throws HostError, InfraError when the file
  // cannot be read.
  std::string upload(const std::filesystem::path& file, const std::string& vol_name);
  // A kernel is uploaded once per host and job, named by its identity.
  std::string upload_kernel(const std::filesystem::path& kernel);
  void delete_volume(const std::string& path);

  // Whether a lifecycle event said the domain's guest ended (shut down,
  // stopped, crashed). Costs no round trip, unlike a state query, which
  // blocks as long as libvirt tears the domain down.
  bool has_ended(const std::string& domain_name);

  // A domain whose guest has ended by itself, with its consoles still open:
  // a thread waits for libvirt's own destroy, closes the streams, frees the
  // domain and deletes the run's volumes, so the run does not wait for it.
  void reap(virDomainPtr dom, std::vector<std::string> volumes,
            std::vector<std::unique_ptr<ConsoleStream>> streams);

 private:
  static int on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int, void* opaque);
  // The pool with its volumes, the event callback, the connection.
  void release();

  virConnectPtr conn_ = nullptr;
  virStoragePoolPtr pool_ = nullptr;
  int callback_id_ = -1;
  std::atomic<int> counter_{0};
  std::mutex uploaded_mu_;
  std::map<std::string, std::string> uploaded_;  // file identity -> volume path
  std::mutex events_mu_;
  std::set<std::string> ended_;  // domain names
  std::mutex reapers_mu_;
  std::vector<std::thread> reapers_;
};

}  // namespace kh
