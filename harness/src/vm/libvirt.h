// The libvirt backend: each run is a transient libvirt domain on one host
// (a libvirt URI: qemu:///system here, qemu+ssh://host/system elsewhere).
// Nothing is shared with the host through the file system: the kernel,
// initramfs and scratch disks are uploaded into a storage pool the backend
// makes on the host, and the serial console and the agent's records come
// back through libvirt streams (virDomainOpenConsole on the pty consoles).
// The same code serves a local and a remote host. The domain XML is
// vm/libvirt_domain.h (pure), the host with its pool, uploads and reapers
// vm/libvirt_host.h; each run is watched by vm/monitor.h.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vm/backend.h"

namespace kh {

class LibvirtHost;

struct LibvirtOptions {
  std::string uri = "qemu:///system";
  // The storage pool this backend makes on the host (a directory pool),
  // named e.g. kharness-<job>-<pid>; deleted with every volume in it when
  // the backend goes away.
  std::string pool = "kharness";
  // The folder on the host under which the pool's directory is made.
  std::string pool_dir = "/var/lib/libvirt/images";
  std::string accel = "auto";  // "kvm" makes KVM domains; anything else TCG
};

class LibvirtBackend : public Backend {
 public:
  explicit LibvirtBackend(LibvirtOptions options);
  // Destroys any domain still running, deletes the volumes and the pool.
  ~LibvirtBackend() override;
  std::string name() const override { return "libvirt"; }
  // A lost connection, a pool or upload that fails, a domain that vanishes
  // without the guest ending it: VmExitKind::host_failed (the host pool
  // retries the run elsewhere). Interrupted: the domain is destroyed and
  // `interrupted` returned, like the qemu backend.
  VmExit run(const BootRequest& req, const RecordSink& on_record) override;
  // Not supported: `kharness boot` attaches through the qemu backend
  // (`virsh console` is libvirt's own way). Throws InputError.
  VmExit attach(const BootRequest& req) override;

  // The arches this host's capabilities list; connects when needed.
  // Throws InfraError when the host cannot be reached.
  std::vector<std::string> arches();

 private:
  LibvirtOptions options_;
  // In domain names, so two hosts on one machine (the tests' second
  // libvirtd) never share a name, a cgroup or a log file.
  std::string uri_tag_;
  std::unique_ptr<LibvirtHost> host_;
  std::mutex mu_;       // host_ set-up and teardown
  LibvirtHost& host();  // connects and makes the pool on first use; throws HostError
};

}  // namespace kh
