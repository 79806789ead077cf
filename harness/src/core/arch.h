// Everything that differs between guest architectures, in one table.
// kernel/ reads the build columns, image/ the Debian arch, vm/ the QEMU
// columns. Adding an arch is adding a row (and a configs/kernel/<name>.config).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>

namespace kh {

struct ArchInfo {
  std::string_view name;  // job name: "x86_64"
  // Build
  std::string_view kernel_arch;      // make ARCH=
  std::string_view cross_compile;    // make CROSS_COMPILE= ("" for native)
  std::string_view compiler;         // the C compiler kbuild will call
  std::string_view make_target;      // "bzImage"
  std::string_view image_path;       // relative to O=: "arch/x86/boot/bzImage"
  std::string_view config_fragment;  // configs/kernel/<this>
  // Userland
  std::string_view deb_arch;  // Debian architecture: "amd64"
  // Boot
  std::string_view qemu_binary;    // "qemu-system-x86_64"
  std::string_view qemu_machine;   // -machine
  std::string_view qemu_bios;      // -bios (QEMU's data folder), "" for the machine's default
  std::string_view tcg_cpu;        // -cpu under TCG
  std::string_view console;        // kernel console= device
  std::string_view boot_args;      // always on the guest command line ("" for none)
  std::string_view tcg_boot_args;  // appended under TCG only (KVM's timers need no help)
  // Appended when the kernel's .config sets every one of config_boot_needs
  // (space-separated symbols) to y: boot_args_for_config.
  std::string_view config_boot_args;
  std::string_view config_boot_needs;
  std::string_view virtio_bus;  // "pci" or "device" (virtio-*-pci / virtio-*-device)
  double tcg_slowdown;          // timeouts are multiplied by this under TCG
};

std::span<const ArchInfo> all_arches();
// arch.config_boot_args when `config` (a final .config's symbol -> value,
// kernel/kconfig.h's config_values) sets every symbol of
// arch.config_boot_needs to y, else "": the tree under test says what its
// kernel can boot with, not a version number.
std::string boot_args_for_config(const ArchInfo& arch,
                                 const std::map<std::string, std::string>& config);
// nullptr when the table has no such arch.
const ArchInfo* find_arch(std::string_view name);
// The arch kharness itself runs on ("x86_64", "arm64").
std::string_view host_arch();
// "x86_64, arm64": for error messages.
std::string known_arch_names();

}  // namespace kh
