#include "vm/registry.h"

#include <fmt/format.h>

#include <map>

#include "util/error.h"

namespace kh {
namespace {
std::map<std::string, BackendFactory>& table() {
  static std::map<std::string, BackendFactory> t;
  return t;
}
}  // namespace

bool register_backend(const std::string& name, BackendFactory factory) {
  table()[name] = std::move(factory);
  return true;
}

std::unique_ptr<Backend> create_backend(const std::string& name, const BackendDeps& deps) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("unknown VM backend '{}' (known: {})", name, known));
  }
  return it->second(deps);
}

std::vector<std::string> backend_names() {
  std::vector<std::string> out;
  for (const auto& [n, _] : table()) out.push_back(n);
  return out;
}

std::string_view to_string(Accel a) {
  return a == Accel::kvm ? "kvm" : "tcg";
}

std::string_view to_string(VmExitKind k) {
  switch (k) {
    case VmExitKind::powered_off:
      return "powered_off";
    case VmExitKind::boot_timeout:
      return "boot_timeout";
    case VmExitKind::run_timeout:
      return "run_timeout";
    case VmExitKind::vm_failed:
      return "vm_failed";
    case VmExitKind::interrupted:
      return "interrupted";
    case VmExitKind::host_failed:
      return "host_failed";
  }
  return "?";
}

}  // namespace kh
