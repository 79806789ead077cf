// lru_gen.h — the pure reader of MGLRU's debugfs file
// /sys/kernel/debug/lru_gen (Documentation/admin-guide/mm/multigen_lru.rst),
// for memcg-stress's ager: which lruvecs there are and their oldest and
// youngest generation, the numbers its aging and eviction commands name.
//
// Header-only and free of syscalls, so the host's unit tests include it
// (tests/agent/lru_gen_test.cpp), like sampling.h.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace kh::lru_gen {

// One lruvec: a memcg on one node.
struct LruVec {
  long memcg = -1;   // the memcg's id, what a command names
  std::string path;  // its cgroup path from the hierarchy's root ("/kharness/churn")
  long node = -1;
  long min_seq = -1;  // the first generation listed (the oldest anon one)
  long max_seq = -1;  // the last (the youngest)
};

// The file's writable form: "memcg <id> <path>" once per memcg, then per
// node " node <n>" and one line per generation, " <seq> <age_ms> <anon>
// <file>", oldest first. A lruvec without generation lines keeps -1.
inline std::vector<LruVec> parse(std::string_view text) {
  std::vector<LruVec> out;
  long memcg = -1;
  std::string path;
  auto num = [](std::string_view v) {
    long n = -1;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && ptr == v.data() + v.size() ? n : -1;
  };
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::vector<std::string_view> w;
    while (!line.empty()) {
      const size_t a = line.find_first_not_of(' ');
      if (a == std::string_view::npos) break;
      line.remove_prefix(a);
      const size_t b = line.find(' ');
      w.push_back(line.substr(0, b));
      line = b == std::string_view::npos ? std::string_view() : line.substr(b);
    }
    if (w.empty()) continue;
    if (w[0] == "memcg" && w.size() >= 2) {
      memcg = num(w[1]);
      path = w.size() >= 3 ? std::string(w[2]) : "";
    } else if (w[0] == "node" && w.size() >= 2) {
      out.push_back({memcg, path, num(w[1]), -1, -1});
    } else if (!out.empty()) {
      const long seq = num(w[0]);
      if (seq < 0) continue;
      if (out.back().min_seq < 0) out.back().min_seq = seq;
      out.back().max_seq = seq;
    }
  }
  return out;
}

}  // namespace kh::lru_gen
