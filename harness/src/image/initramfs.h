// The guest's initramfs: a cpio (newc) archive written with libarchive.
// Entries are kept in memory and written in one go; parent folders are
// added automatically.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

namespace kh {

struct InitramfsEntry {
  enum class Type { file, dir, symlink };
  Type type = Type::file;
  std::string path;     // absolute guest path, "/init"
  std::string content;  // file bytes, or the symlink target
  unsigned mode = 0644;
};

class Initramfs {
 public:
  void add_file(const std::string& path, std::string content, unsigned mode = 0644);
  void add_dir(const std::string& path);
  void add_symlink(const std::string& path, const std::string& target);
  // An entry as read_initramfs returns it (a folder already there is kept once).
  void add_entry(InitramfsEntry entry);
  const std::vector<InitramfsEntry>& entries() const { return entries_; }
  // Throws InfraError naming the file (a full disk ends here).
  void write(const std::filesystem::path& out) const;

 private:
  void add_parents(const std::string& path);
  std::vector<InitramfsEntry> entries_;
  std::unordered_set<std::string> dirs_;  // the folders in entries_, for add_parents
};

// Reads a cpio archive back (tests; `kharness doctor`).
std::vector<InitramfsEntry> read_initramfs(const std::filesystem::path& path);

}  // namespace kh
