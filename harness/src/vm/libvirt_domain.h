// The libvirt backend's pure half: the domain XML for a boot request, and
// the guest arches a host's capabilities list. No libvirt calls (pugixml
// only); the host and its sessions are vm/libvirt_host.h and vm/libvirt.h.
#pragma once

#include <string>
#include <vector>

#include "vm/backend.h"

namespace kh {

// Where a domain's files are on its host (storage volume paths).
struct DomainFiles {
  std::string kernel;
  std::string initrd;
  std::vector<std::string> disks;  // become vda, vdb, ...
};

// Pure: the domain XML for a request. Direct kernel boot, memory and vCPUs,
// NUMA cells (memory and vCPUs split evenly, like the qemu backend), virtio
// disks, the serial console and the agent's virtio console (hvc0) both as
// pty so they can be opened as streams, every end of the guest (poweroff,
// reboot after panic=-1, crash) destroying the domain. Per arch: x86_64 on
// the pc machine with virtio over PCI, arm64 on virt with virtio over MMIO
// (the guest configs have no PCI there). TCG (domain type qemu, -cpu max)
// unless accel is kvm (host-passthrough).
std::string libvirt_domain_xml(const BootRequest& req, const std::string& name,
                               const DomainFiles& files, Accel accel);

// Pure: the guest arches (the table's names: x86_64, arm64) a host's
// capabilities XML (virConnectGetCapabilities) can run.
std::vector<std::string> capability_arches(const std::string& capabilities_xml);

}  // namespace kh
