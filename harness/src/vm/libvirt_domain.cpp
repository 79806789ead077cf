#include "vm/libvirt_domain.h"

#include <fmt/format.h>

#include <algorithm>
#include <pugixml.hpp>
#include <sstream>

#include "vm/qemu.h"

namespace kh {
namespace {

std::string arch_of_table(std::string_view libvirt_arch) {
  if (libvirt_arch == "aarch64") return "arm64";
  return std::string(libvirt_arch);
}

std::string libvirt_arch_name(const ArchInfo& a) {
  return a.name == "arm64" ? "aarch64" : std::string(a.name);
}

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
  os.append_child("cmdline").text() = kernel_cmdline(req, accel).c_str();
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

}  // namespace kh
