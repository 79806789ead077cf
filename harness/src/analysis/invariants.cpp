#include "analysis/invariants.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "util/text.h"

namespace kh {
namespace {

// One number as the kernel printed it. Kept exact (not a double): the
// point is to tell 2^64 - 4096 from a large but real count.
struct Counter {
  bool negative = false;
  std::uint64_t magnitude = 0;  // saturated when the text does not fit 64 bits
  // Below zero: printed with a minus sign, or at least 2^63 as an unsigned
  // number (a signed counter that went negative, printed with %lu).
  bool wrapped() const { return negative || magnitude >= (std::uint64_t{1} << 63); }
  std::int64_t value() const { return wrapped() ? 0 : static_cast<std::int64_t>(magnitude); }
  std::string text() const { return (negative ? "-" : "") + std::to_string(magnitude); }
};

std::optional<Counter> parse_counter(std::string_view s) {
  Counter c;
  if (!s.empty() && s.front() == '-') {
    c.negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), c.magnitude);
  if (ec == std::errc::result_out_of_range) {
    c.magnitude = UINT64_MAX;
  } else if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return c;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const std::size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const std::size_t end = line.find_first_of(" \t\r");
    out.push_back(line.substr(0, end));
    line = end == std::string_view::npos ? std::string_view() : line.substr(end);
  }
  return out;
}

using Flat = std::map<std::string, Counter, std::less<>>;

// "key value" per line (memory.stat, memory.events, cgroup.stat,
// /proc/vmstat); lines whose value is not a number are not counters.
Flat parse_flat(std::string_view text) {
  Flat out;
  for_each_line(text, [&](std::string_view line) {
    const auto w = words(line);
    if (w.size() != 2) return;
    if (auto c = parse_counter(w[1])) out[std::string(w[0])] = *c;
  });
  return out;
}

// One row of memory.numa_stat: v2 "anon N0=4096 N1=0" (bytes), v1
// "total=12 N0=10 N1=2" (pages, with the row's own total).
struct NumaRow {
  std::optional<Counter> total;
  std::map<std::string, Counter> nodes;
};

std::map<std::string, NumaRow, std::less<>> parse_numa(std::string_view text) {
  std::map<std::string, NumaRow, std::less<>> out;
  for_each_line(text, [&](std::string_view line) {
    const auto w = words(line);
    if (w.empty()) return;
    NumaRow row;
    std::string key(w[0]);
    if (const std::size_t eq = key.find('='); eq != std::string::npos) {
      row.total = parse_counter(std::string_view(key).substr(eq + 1));
      key.resize(eq);
    }
    for (std::size_t i = 1; i < w.size(); ++i) {
      const std::size_t eq = w[i].find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      if (auto c = parse_counter(w[i].substr(eq + 1)))
        row.nodes[std::string(w[i].substr(0, eq))] = *c;
    }
    if (!key.empty()) out[key] = std::move(row);
  });
  return out;
}

std::optional<Counter> parse_single(std::string_view text) {
  const auto w = words(text.substr(0, text.find('\n')));
  return w.size() == 1 ? parse_counter(w[0]) : std::nullopt;
}

constexpr std::array<const char*, 5> kLruLists = {"inactive_anon", "active_anon", "inactive_file",
                                                  "active_file", "unevictable"};

// memory.stat sizes that a parent holds at least as much of as its live
// children together (v2 names; v1 checks total_<name> where it has one).
// Every one is a hierarchical page count of the memcg tree, printed in
// bytes (kernel_stack and the slab ones byte-exact).
constexpr std::array<const char*, 30> kHierarchicalKeys = {"anon",
                                                           "file",
                                                           "kernel",
                                                           "kernel_stack",
                                                           "pagetables",
                                                           "sec_pagetables",
                                                           "percpu",
                                                           "sock",
                                                           "vmalloc",
                                                           "shmem",
                                                           "zswap",
                                                           "zswapped",
                                                           "file_mapped",
                                                           "file_dirty",
                                                           "file_writeback",
                                                           "swapcached",
                                                           "anon_thp",
                                                           "file_thp",
                                                           "shmem_thp",
                                                           "inactive_anon",
                                                           "active_anon",
                                                           "inactive_file",
                                                           "active_file",
                                                           "unevictable",
                                                           "slab_reclaimable",
                                                           "slab_unreclaimable",
                                                           "slab",
                                                           "cache",
                                                           "rss",
                                                           "mapped_file"};

bool is_counter_file(const std::string& path) {
  if (path == "/proc/vmstat") return true;
  for (const char* name :
       {"/memory.stat", "/memory.numa_stat", "/memory.current", "/memory.usage_in_bytes",
        "/memory.kmem.usage_in_bytes", "/memory.events", "/cgroup.stat"})
    if (path.ends_with(name)) return true;
  return false;
}

// One memory cgroup's files as the snapshot has them (a file it lacks stays
// empty).
struct Memcg {
  std::string dir;
  std::string stat_path, usage_path, numa_path, kmem_path;
  std::optional<Flat> stat;
  std::optional<Counter> usage;
  std::optional<std::map<std::string, NumaRow, std::less<>>> numa;
  std::optional<Counter> kmem;
};

class Checker {
 public:
  Checker(const Snapshot& snap, const InvariantLimits& limits, InvariantReport& out)
      : snap_(snap), out_(out) {
    auto get = [&](const char* name, double fallback) {
      auto it = snap.values.find(name);
      return it != snap.values.end() && it->second > 0 ? it->second : fallback;
    };
    cpus_ = static_cast<long>(get("nr_cpus", limits.cpus));
    page_ = static_cast<long>(get("page_size", static_cast<double>(limits.page_size)));
    tolerance_ = static_cast<std::int64_t>(cpus_) * 256 * page_;
    auto v = snap.meta.find("cgroup_version");
    v1_ = v != snap.meta.end() && v->second == "1";
  }

  void run() {
    for (const auto& [path, text] : snap_.files)
      if (is_counter_file(path)) underflow(path, text);
    auto parent_it = snap_.meta.find("parent");
    if (parent_it == snap_.meta.end() || parent_it->second.empty()) return;
    Memcg parent = load(parent_it->second);
    std::vector<Memcg> children;
    for (const std::string& dir : child_dirs(parent.dir)) children.push_back(load(dir));
    if (!parent.stat && !parent.usage) return;
    ++out_.snapshots;
    for (const Memcg* m : all(parent, children)) {
      lru_and_usage(*m);
      numa(*m);
    }
    hierarchy(parent, children);
  }

 private:
  static std::vector<const Memcg*> all(const Memcg& parent, const std::vector<Memcg>& children) {
    std::vector<const Memcg*> out = {&parent};
    for (const Memcg& c : children) out.push_back(&c);
    return out;
  }

  std::string tolerance_text() const {
    return fmt::format("tolerance {} = {} CPUs x 256 pages of {} B", tolerance_, cpus_, page_);
  }

  void violation(InvariantCheck check, const std::string& file, std::string key,
                 std::string detail) {
    out_.violations.push_back({check, snap_.name, file, std::move(key), std::move(detail)});
  }

  void underflow(const std::string& path, const std::string& text) {
    if (path.ends_with("/memory.numa_stat")) {
      auto one = [&](const std::string& key, const std::string& where, const Counter& c) {
        ++out_.comparisons;
        if (c.wrapped())
          violation(InvariantCheck::underflow, path, key,
                    fmt::format("{} {} is below zero as a signed 64-bit counter", where, c.text()));
      };
      for (const auto& [key, row] : parse_numa(text)) {
        if (row.total) one(key, "total", *row.total);
        for (const auto& [node, c] : row.nodes) one(key, node, c);
      }
      return;
    }
    if (path.ends_with("/memory.current") || path.ends_with("_in_bytes")) {
      if (auto c = parse_single(text)) {
        ++out_.comparisons;
        if (c->wrapped())
          violation(InvariantCheck::underflow, path, "",
                    fmt::format("{} is below zero as a signed 64-bit counter", c->text()));
      }
      return;
    }
    for (const auto& [key, c] : parse_flat(text)) {
      ++out_.comparisons;
      if (c.wrapped())
        violation(InvariantCheck::underflow, path, key,
                  fmt::format("{} is below zero as a signed 64-bit counter", c.text()));
    }
  }

  const std::string* file(const std::string& path) const {
    auto it = snap_.files.find(path);
    return it == snap_.files.end() ? nullptr : &it->second;
  }

  Memcg load(const std::string& dir) const {
    Memcg m;
    m.dir = dir;
    m.stat_path = dir + "/memory.stat";
    m.usage_path = dir + (v1_ ? "/memory.usage_in_bytes" : "/memory.current");
    m.numa_path = dir + "/memory.numa_stat";
    m.kmem_path = dir + "/memory.kmem.usage_in_bytes";
    if (const std::string* f = file(m.stat_path)) m.stat = parse_flat(*f);
    if (const std::string* f = file(m.usage_path)) m.usage = parse_single(*f);
    if (const std::string* f = file(m.numa_path)) m.numa = parse_numa(*f);
    if (const std::string* f = file(m.kmem_path)) m.kmem = parse_single(*f);
    return m;
  }

  // <parent>/<child>/memory.* in the snapshot: the live children it looked into.
  std::set<std::string> child_dirs(const std::string& parent) const {
    std::set<std::string> out;
    const std::string prefix = parent + "/";
    for (const auto& [path, _] : snap_.files) {
      if (!path.starts_with(prefix)) continue;
      const std::string rest = path.substr(prefix.size());
      const std::size_t slash = rest.find('/');
      if (slash == std::string::npos || slash == 0) continue;
      if (rest.find('/', slash + 1) != std::string::npos) continue;
      if (rest.compare(slash + 1, 7, "memory.") != 0) continue;
      out.insert(prefix + rest.substr(0, slash));
    }
    return out;
  }

  // The sum of `keys` in `stat`, or nullopt when one is missing or wrapped
  // (a missing key: the kernel lacks it; a wrapped one: already reported).
  static std::optional<std::int64_t> sum(const Flat& stat,
                                         std::initializer_list<std::string> keys) {
    std::int64_t total = 0;
    for (const std::string& k : keys) {
      auto it = stat.find(k);
      if (it == stat.end() || it->second.wrapped()) return std::nullopt;
      total += it->second.value();
    }
    return total;
  }

  std::optional<std::int64_t> lru_total(const Flat& stat, const std::string& prefix) const {
    return sum(stat, {prefix + kLruLists[0], prefix + kLruLists[1], prefix + kLruLists[2],
                      prefix + kLruLists[3], prefix + kLruLists[4]});
  }

  std::string lru_key(const std::string& prefix) const {
    std::string key;
    for (const char* l : kLruLists) key += (key.empty() ? "" : "+") + prefix + l;
    return key;
  }

  void lru_and_usage(const Memcg& m) {
    if (!m.stat || !m.usage || m.usage->wrapped()) return;
    const std::string prefix = v1_ ? "total_" : "";
    const auto lru = lru_total(*m.stat, prefix);
    if (!lru) return;
    const std::int64_t usage = m.usage->value();
    const char* usage_name = v1_ ? "memory.usage_in_bytes" : "memory.current";
    ++out_.comparisons;
    if (*lru > usage + tolerance_)
      violation(InvariantCheck::lru, m.stat_path, lru_key(prefix),
                fmt::format("LRU lists {} > {} {} + {}: pages on the LRU that are not charged",
                            *lru, usage_name, usage, tolerance_text()));
    std::optional<std::int64_t> kernel;
    std::string parts;
    if (v1_) {
      if (m.kmem && !m.kmem->wrapped()) kernel = m.kmem->value();
      parts = "memory.kmem.usage_in_bytes";
    } else {
      kernel = sum(*m.stat, {"kernel"});
      parts = "kernel";
      if (auto sock = sum(*m.stat, {"sock"}); kernel && sock) {
        *kernel += *sock;
        parts += " + sock";
      }
    }
    if (!kernel) return;
    ++out_.comparisons;
    if (usage > *lru + *kernel + tolerance_)
      violation(InvariantCheck::usage, m.usage_path, "",
                fmt::format("{} > LRU lists {} + {} {} + {}: charges on no LRU list and not "
                            "kernel memory",
                            usage, *lru, parts, *kernel, tolerance_text()));
  }

  void numa(const Memcg& m) {
    if (!m.numa || !m.stat) return;
    if (v1_) {
      numa_v1(m);
      return;
    }
    for (const auto& [key, row] : *m.numa) {
      auto it = m.stat->find(key);
      if (it == m.stat->end() || it->second.wrapped()) continue;
      std::optional<std::int64_t> nodes = node_sum(row);
      if (!nodes) continue;
      ++out_.comparisons;
      const std::int64_t stat = it->second.value();
      if (std::llabs(*nodes - stat) > tolerance_)
        violation(InvariantCheck::numa, m.numa_path, key,
                  fmt::format("sum over nodes {} != memory.stat {} {} (off by {}, {})", *nodes, key,
                              stat, *nodes - stat, tolerance_text()));
    }
  }

  static std::optional<std::int64_t> node_sum(const NumaRow& row) {
    std::int64_t total = 0;
    for (const auto& [_, c] : row.nodes) {
      if (c.wrapped()) return std::nullopt;
      total += c.value();
    }
    return row.nodes.empty() ? std::nullopt : std::optional(total);
  }

  // v1 rows count pages; memory.stat counts bytes.
  void numa_v1(const Memcg& m) {
    const std::int64_t tolerance_pages = tolerance_ / page_;
    const std::map<std::string, std::vector<std::string>> lists = {
        {"total", {"inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"}},
        {"file", {"inactive_file", "active_file"}},
        {"anon", {"inactive_anon", "active_anon"}},
        {"unevictable", {"unevictable"}}};
    for (const auto& [key, row] : *m.numa) {
      if (!row.total || row.total->wrapped()) continue;
      const std::int64_t total = row.total->value();
      if (auto nodes = node_sum(row)) {
        ++out_.comparisons;
        if (std::llabs(*nodes - total) > tolerance_pages)
          violation(InvariantCheck::numa, m.numa_path, key,
                    fmt::format("sum over nodes {} != {}={} pages (off by {}, {})", *nodes, key,
                                total, *nodes - total, tolerance_text()));
      }
      const bool hierarchical = key.starts_with("hierarchical_");
      auto l = lists.find(hierarchical ? key.substr(13) : key);
      if (l == lists.end()) continue;
      std::int64_t bytes = 0;
      std::string names;
      bool complete = true;
      for (const std::string& list : l->second) {
        const std::string name = (hierarchical ? "total_" : "") + list;
        auto s = sum(*m.stat, {name});
        if (!s) complete = false;
        bytes += s.value_or(0);
        names += (names.empty() ? "" : "+") + name;
      }
      if (!complete) continue;
      ++out_.comparisons;
      if (std::llabs(bytes / page_ - total) > tolerance_pages)
        violation(InvariantCheck::numa, m.numa_path, key,
                  fmt::format("{}={} pages != memory.stat {} {} B = {} pages ({})", key, total,
                              names, bytes, bytes / page_, tolerance_text()));
    }
  }

  void hierarchy(const Memcg& parent, const std::vector<Memcg>& children) {
    if (children.empty()) return;
    if (parent.usage && !parent.usage->wrapped()) {
      std::int64_t sum_children = 0;
      bool complete = true;
      for (const Memcg& c : children) {
        if (!c.usage || c.usage->wrapped())
          complete = false;
        else
          sum_children += c.usage->value();
      }
      if (complete) {
        ++out_.comparisons;
        if (parent.usage->value() + tolerance_ < sum_children)
          violation(
              InvariantCheck::hierarchy, parent.usage_path, "",
              fmt::format("{} < the sum {} over its {} live children ({})", parent.usage->value(),
                          sum_children, children.size(), tolerance_text()));
      }
    }
    if (!parent.stat) return;
    for (const char* base : kHierarchicalKeys) {
      const std::string key = (v1_ ? "total_" : "") + std::string(base);
      auto p = sum(*parent.stat, {key});
      if (!p) continue;
      std::int64_t sum_children = 0;
      bool complete = true;
      for (const Memcg& c : children) {
        auto v = c.stat ? sum(*c.stat, {key}) : std::nullopt;
        if (!v)
          complete = false;
        else
          sum_children += *v;
      }
      if (!complete) continue;
      ++out_.comparisons;
      if (*p + tolerance_ < sum_children)
        violation(InvariantCheck::hierarchy, parent.stat_path, key,
                  fmt::format("{} < the sum {} over its {} live children ({})", *p, sum_children,
                              children.size(), tolerance_text()));
    }
  }

  const Snapshot& snap_;
  InvariantReport& out_;
  long cpus_ = 1;
  long page_ = 4096;
  std::int64_t tolerance_ = 0;
  bool v1_ = false;
};

constexpr std::size_t kMaxListed = 20;

}  // namespace

const char* to_string(InvariantCheck check) {
  switch (check) {
    case InvariantCheck::underflow:
      return "underflow";
    case InvariantCheck::lru:
      return "lru";
    case InvariantCheck::usage:
      return "usage";
    case InvariantCheck::numa:
      return "numa";
    case InvariantCheck::hierarchy:
      return "hierarchy";
  }
  return "?";
}

InvariantReport check_snapshot_invariants(const Snapshot& snap, const InvariantLimits& limits) {
  InvariantReport report;
  Checker(snap, limits, report).run();
  return report;
}

InvariantReport check_invariants(const std::vector<Snapshot>& snaps,
                                 const InvariantLimits& limits) {
  InvariantReport report;
  for (const Snapshot& s : snaps) {
    InvariantReport one = check_snapshot_invariants(s, limits);
    report.comparisons += one.comparisons;
    report.snapshots += one.snapshots;
    for (auto& v : one.violations) report.violations.push_back(std::move(v));
  }
  return report;
}

std::vector<AssertionResult> invariant_assertions(const InvariantReport& report) {
  std::vector<AssertionResult> out;
  for (std::size_t i = 0; i < report.violations.size() && i < kMaxListed; ++i) {
    const InvariantViolation& v = report.violations[i];
    AssertionResult a;
    a.expression = fmt::format("invariant {}: snapshot '{}', {}{}{}", to_string(v.check),
                               v.snapshot, v.file, v.key.empty() ? "" : ", key ", v.key);
    a.detail = v.detail;
    a.passed = false;
    a.value = 0;
    out.push_back(std::move(a));
  }
  AssertionResult summary;
  summary.expression = "statistics invariants hold";
  summary.passed = report.violations.empty();
  summary.value = static_cast<double>(report.violations.size());
  summary.detail = fmt::format(
      "{} values checked over {} snapshots; {} broken{}", report.comparisons, report.snapshots,
      report.violations.size(),
      report.violations.size() > kMaxListed ? fmt::format(" ({} listed)", kMaxListed) : "");
  out.push_back(std::move(summary));
  return out;
}

}  // namespace kh
