// Backends by name. Each implementation registers a factory at startup
// (vm/qemu.cpp registers "qemu"); tests register "fake" the same way.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vm/backend.h"

namespace kh {

class ProcessRunner;
class HostProbe;

struct BackendDeps {
  ProcessRunner* runner = nullptr;
  HostProbe* probe = nullptr;
  std::filesystem::path cache_dir;  // for the accelerator verdict
  std::string accel = "auto";       // "auto", "kvm" or "tcg"
  // libvirt: the host's URI, the storage pool to make there and the folder
  // on the host it goes in (vm/libvirt.h).
  std::string uri = "qemu:///system";
  std::string pool = "kharness";
  std::string pool_dir = "/var/lib/libvirt/images";
};

using BackendFactory = std::function<std::unique_ptr<Backend>(const BackendDeps&)>;

// Returns true so it can initialise a static in the registering file.
bool register_backend(const std::string& name, BackendFactory factory);
// Throws InputError listing the known names when there is no such backend.
std::unique_ptr<Backend> create_backend(const std::string& name, const BackendDeps& deps);
std::vector<std::string> backend_names();

}  // namespace kh
