// SHA-256 for content keys (artifact cache, source identity).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kh {

// Incremental hasher; feed() parts in a fixed order, then hex().
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  // Each part is length-prefixed, so ("ab","c") and ("a","bc") differ.
  Hasher& feed(std::string_view part);
  Hasher& feed_file(const std::filesystem::path& path);  // throws InfraError
  std::string hex();

 private:
  void* ctx_;
};

// The plain SHA-256 of `data` (no length prefix), as sha256sum prints it.
std::string sha256_hex(std::string_view data);

// The plain SHA-256 of a file's bytes, as sha256sum prints it. Throws
// InfraError when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace kh
