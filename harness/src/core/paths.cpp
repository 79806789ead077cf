#include "core/paths.h"
#include "build_info.h"

#include <cstdlib>

namespace kh {

Paths Paths::from_environment() {
  Paths p;
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return (v && *v) ? v : nullptr;
  };
  p.root = env("KHARNESS_ROOT") ? env("KHARNESS_ROOT") : KHARNESS_SOURCE_DIR;
  if (env("KHARNESS_CACHE")) {
    p.cache = env("KHARNESS_CACHE");
  } else if (env("XDG_CACHE_HOME")) {
    p.cache = std::filesystem::path(env("XDG_CACHE_HOME")) / "kharness";
  } else {
    p.cache = std::filesystem::path(env("HOME") ? env("HOME") : "/root") / ".cache/kharness";
  }
  p.agent_dir = env("KHARNESS_AGENT_DIR") ? env("KHARNESS_AGENT_DIR") : KHARNESS_AGENT_DIR;
  return p;
}

}  // namespace kh
