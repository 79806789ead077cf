#include "core/arch.h"

#include <sys/utsname.h>

#include <array>

namespace kh {
namespace {

constexpr std::array kArches{
    ArchInfo{
        .name = "x86_64",
        .kernel_arch = "x86_64",
        .cross_compile = "",
        .compiler = "gcc",
        .make_target = "bzImage",
        .image_path = "arch/x86/boot/bzImage",
        .config_fragment = "x86_64.config",
        .deb_arch = "amd64",
        .qemu_binary = "qemu-system-x86_64",
        .qemu_machine = "pc",
        // qboot: a firmware that only loads the kernel (no PCI option ROMs,
        // no boot menu, no disk probing). ~0.1-0.15 s less than SeaBIOS
        // under TCG; QEMU's ACPI tables, SMP and NUMA reach the guest the
        // same way (fw_cfg). Works under KVM too.
        .qemu_bios = "qboot.rom",
        .tcg_cpu = "max",
        .console = "ttyS0",
        // Under TCG on a loaded host the IO-APIC timer check can miss its
        // ticks and panic ("IO-APIC + timer doesn't work!"): a host-load
        // artefact that would read as a kernel failure.
        .boot_args = "no_timer_check",
        // Under TCG the local APIC timer fails its calibration after 100 ms
        // of measuring ("APIC timer disabled due to verification failure")
        // and the secondary CPUs' TSCs look unsynchronised, so each spends
        // ~0.15 s in calibrate_delay: skip both (noapictimer gives the same
        // broadcast timer the failed check would; lpj only feeds BogoMIPS,
        // delays run on the TSC). Under KVM neither happens.
        .tcg_boot_args = "noapictimer lpj=10000000",
        // Routing PCI interrupts through ACPI evaluates the DSDT's link
        // devices (_PRS/_CRS/_SRS for LNKA-D) in the AML interpreter: ~0.1 s
        // a virtio device under TCG, ~0.2 s of a 0.6 s boot. With
        // acpi=noirq the IO-APIC and the ISA interrupts come from the
        // firmware's MP table (qboot's and SeaBIOS's both have one) and
        // virtio-pci takes MSI-X vectors, no INTx at all; ACPI still lists
        // the CPUs (MADT), the HPET and powers off. A kernel without the MP
        // table parser or MSI would boot in PIC mode or lose its virtio
        // interrupts: the arg is only given to kernels that have both.
        .config_boot_args = "acpi=noirq",
        .config_boot_needs = "CONFIG_X86_MPPARSE CONFIG_PCI_MSI",
        .virtio_bus = "pci",
        .tcg_slowdown = 1.0,
    },
    ArchInfo{
        .name = "arm64",
        .kernel_arch = "arm64",
        .cross_compile = "aarch64-linux-gnu-",
        .compiler = "aarch64-linux-gnu-gcc",
        .make_target = "Image",
        .image_path = "arch/arm64/boot/Image",
        .config_fragment = "arm64.config",
        .deb_arch = "arm64",
        .qemu_binary = "qemu-system-aarch64",
        .qemu_machine = "virt",
        .qemu_bios = "",
        .tcg_cpu = "max",
        .console = "ttyAMA0",
        .boot_args = "",
        .tcg_boot_args = "",
        .config_boot_args = "",
        .config_boot_needs = "",
        .virtio_bus = "device",
        .tcg_slowdown = 2.0,
    },
};

}  // namespace

std::span<const ArchInfo> all_arches() {
  return kArches;
}

std::string boot_args_for_config(const ArchInfo& arch,
                                 const std::map<std::string, std::string>& config) {
  if (arch.config_boot_args.empty()) return "";
  std::string_view needs = arch.config_boot_needs;
  while (!needs.empty()) {
    const size_t space = needs.find(' ');
    const std::string symbol(needs.substr(0, space));
    needs = space == std::string_view::npos ? std::string_view{} : needs.substr(space + 1);
    if (symbol.empty()) continue;
    auto it = config.find(symbol);
    if (it == config.end() || it->second != "y") return "";
  }
  return std::string(arch.config_boot_args);
}

const ArchInfo* find_arch(std::string_view name) {
  for (const auto& a : kArches)
    if (a.name == name) return &a;
  return nullptr;
}

std::string_view host_arch() {
  static std::string arch = [] {
    struct utsname u {};
    ::uname(&u);
    std::string m = u.machine;
    return m == "aarch64" ? std::string("arm64") : m;
  }();
  return arch;
}

std::string known_arch_names() {
  std::string out;
  for (const auto& a : kArches) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

}  // namespace kh
