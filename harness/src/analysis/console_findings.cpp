#include "analysis/console_findings.h"

#include <array>
#include <cctype>
#include <optional>
#include <regex>
#include <string>
#include <unordered_set>

#include "util/text.h"

namespace kh {
namespace {

// What closes a finding besides the next finding starting.
enum class EndMarker {
  none,   // nothing: the finding is over once its stack dump is (or never says)
  trace,  // "---[ end trace ... ]---" (WARNING, Oops, BUG that oopsed)
  rule,   // the "=====" rule KASAN, KFENCE and UBSAN print after theirs
};

// How the title gets its function once the finding shows it.
enum class Refine {
  none,
  rip,          // "RIP: 0010:func+0x.." (x86) or "pc : func+0x.." (arm64)
  first_frame,  // first frame of the task's stack that is not the scheduler
};

// Whether a finding always ends with a stack dump.
enum class Stack { optional, required };

struct Start {
  std::string kind;
  std::string title;
  EndMarker end = EndMarker::none;
  Refine refine = Refine::none;
  Stack stack = Stack::optional;
};

struct OpenFinding {
  std::size_t index = 0;  // into findings
  std::string base_title;
  EndMarker end = EndMarker::none;
  Refine refine = Refine::none;
  Stack stack = Stack::optional;
  bool in_trace = false;      // after "Call Trace:" / "Call trace:"
  bool marked = false;        // the trace uses <TASK> ... </TASK> (x86)
  bool in_task = false;       // between <TASK> and </TASK>
  int frames = 0;             // frames seen in the current trace
  bool stack_closed = false;  // a whole stack dump was seen
  bool refined = false;
  std::size_t lines = 0;  // excerpt lines so far
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.starts_with(prefix);
}
bool contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

// Length of a printk prefix "[    1.234567] " (or "[    1.234567][    T1] "
// with CONFIG_PRINTK_CALLER) at the start of `s`, or 0.
std::size_t timestamp_length(std::string_view s) {
  std::size_t total = 0;
  for (int bracket = 0; bracket < 2; ++bracket) {
    std::string_view rest = s.substr(total);
    if (rest.empty() || rest.front() != '[') break;
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close > 20) break;
    std::string_view inner = rest.substr(1, close - 1);
    // Seconds always have a dot; the caller id ("T1", "C0") never does.
    bool stamp = !inner.empty() && (bracket == 1 || contains(inner, "."));
    for (char c : inner)
      stamp &= std::isdigit(static_cast<unsigned char>(c)) || c == ' ' ||
               (bracket == 0 ? c == '.' : (c == 'T' || c == 'C'));
    if (!stamp) break;
    total += close + 1;
  }
  if (total > 0 && total < s.size() && s[total] == ' ') ++total;
  return total;
}

// The message of a console line: no "\r", no timestamp. A timestamp in the
// middle (kernel output after a user program's unterminated line) counts too.
std::string_view message_of(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  for (std::size_t pos = line.find('['); pos != std::string_view::npos;
       pos = line.find('[', pos + 1)) {
    if (std::size_t n = timestamp_length(line.substr(pos))) return line.substr(pos + n);
    if (pos == 0) break;  // a line that starts with a non-timestamp bracket is plain text
  }
  return line;
}

// "iterate_mm_list+0x2c5/0x300" -> "iterate_mm_list"; compiler suffixes go
// too (".constprop.0", ".isra.0", ".part.0", ".cold") so titles are stable.
std::string function_name(std::string_view token) {
  token = token.substr(0, token.find('+'));
  for (std::string_view suffix : {".constprop", ".isra", ".part", ".cold", ".llvm"}) {
    if (std::size_t p = token.find(suffix); p != std::string_view::npos) token = token.substr(0, p);
  }
  return std::string(token);
}

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  return true;
}

// Addresses and other per-run numbers out of a panic message
// ("Attempted to kill init! exitcode=0x00000000").
std::string strip_addresses(std::string_view text) {
  static const std::regex kKeyHex(R"(\s*\b\w+=0x[0-9a-fA-F]+)");
  static const std::regex kHex(R"(\b0x[0-9a-fA-F]+|\b[0-9a-fA-F]{8,}\b|\bpfn:[0-9a-fA-F]+)");
  static const std::regex kSpaces(R"(\s+)");
  std::string s = std::regex_replace(std::string(text), kKeyHex, "");
  s = std::regex_replace(s, kHex, "");
  s = std::regex_replace(s, kSpaces, " ");
  while (!s.empty() && (s.back() == ' ' || s.back() == ',' || s.back() == ':' || s.back() == '='))
    s.pop_back();
  return s;
}

// "mm/slab.h:723" -> "mm/slab.h", "bugs.c:348:16" -> "bugs.c": the line
// moves with every patch, the file does not.
std::string strip_line_numbers(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ':' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        i > 0 && std::isalpha(static_cast<unsigned char>(s[i - 1]))) {
      std::size_t j = i + 1;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ':')) ++j;
      i = j - 1;
      continue;
    }
    out += s[i];
  }
  return out;
}

// "/root/.cache/kharness/trees/x/src/drivers/misc/lkdtm/bugs.c" ->
// "drivers/misc/lkdtm/bugs.c": UBSAN prints __FILE__, which is absolute in
// an O= build; the part from the kernel's top-level folder on is stable.
std::string kernel_relative(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::string(path);
  // kharness's own trees are <cache>/trees/<id>/src: everything after it.
  if (std::size_t src = path.rfind("/src/"); src != std::string_view::npos)
    return std::string(path.substr(src + 5));
  std::size_t best = std::string_view::npos;
  for (std::string_view top : {"/arch/", "/block/", "/certs/", "/crypto/", "/drivers/", "/fs/",
                               "/include/", "/init/", "/io_uring/", "/ipc/", "/kernel/", "/lib/",
                               "/mm/", "/net/", "/security/", "/sound/", "/virt/"}) {
    std::size_t p = path.rfind(top);
    if (p != std::string_view::npos && (best == std::string_view::npos || p < best)) best = p;
  }
  return std::string(best == std::string_view::npos ? path : path.substr(best + 1));
}

// A "BUG: " line's title: the words before the per-run part. Bad page state
// names the process and pfn, scheduling while atomic the task/pid/preempt
// count, sleeping-in-atomic the file:line.
std::string bug_title(std::string_view text) {
  text = trim(text);
  for (std::string_view cut : {" in process ", ": ", " at ", ", address", " for address", " - "}) {
    // "BUG: " itself has a ": " at 3; look after it.
    if (std::size_t p = text.find(cut, 5); p != std::string_view::npos) {
      if (cut == " at ") return strip_line_numbers(text);  // the file is stable, the line is not
      text = text.substr(0, p);
    }
  }
  std::string s(trim(text));
  while (!s.empty() && (s.back() == ',' || s.back() == '!' || s.back() == '.')) s.pop_back();
  return s;
}

// arm64's "Unable to handle kernel <msg> at virtual address ..." as x86 says it.
std::string arm64_fault_title(std::string_view text) {
  std::string_view msg = text.substr(std::string_view("Unable to handle kernel ").size());
  msg = msg.substr(0, msg.find(" at virtual address"));
  if (msg == "NULL pointer dereference") return "BUG: kernel NULL pointer dereference";
  return "BUG: unable to handle page fault";  // paging request, read-only, non-executable
}

// "WARNING: CPU: 1 PID: 57 at mm/vmscan.c:3493 iterate_mm_list+0x2c5/0x300"
// -> "iterate_mm_list". Without CONFIG_DEBUG_BUGVERBOSE there is no file.
std::string warning_function(std::string_view text) {
  std::size_t at = text.find(" at ");
  if (at == std::string_view::npos) return {};
  std::string_view rest = trim(text.substr(at + 4));
  std::string_view first = rest.substr(0, rest.find(' '));
  std::string_view second;
  if (first.size() < rest.size()) {
    second = trim(rest.substr(first.size()));
    second = second.substr(0, second.find(' '));
  }
  std::string_view func = (contains(first, ":") && !second.empty()) ? second : first;
  std::string name = function_name(func);
  return is_identifier(name) ? name : std::string();
}

constexpr std::array<std::string_view, 13> kLockdepBanners = {
    "possible circular locking dependency detected",
    "possible recursive locking detected",
    "inconsistent lock state",
    "possible irq lock inversion dependency detected",
    "suspicious RCU usage",
    "bad unlock balance detected",
    "held lock freed",
    "lock held when returning to user space",
    "nested lock was not taken",
    "bad contention detected",
    "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
    "SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
    "held lock is not freed",
};

bool is_oops_line(std::string_view text) {
  return starts_with(text, "Oops:") || starts_with(text, "invalid opcode:") ||
         starts_with(text, "general protection fault") ||
         (starts_with(text, "Internal error: ") && contains(text, "Oops"));
}

bool is_rule(std::string_view text) {
  return text.size() >= 20 && text.find_first_not_of('=') == std::string_view::npos;
}

// "BUG: KASAN: use-after-free in foo+0x12/0x34" (KFENCE alike) ->
// "KASAN: use-after-free in foo".
std::string sanitizer_title(std::string_view rest) {
  std::size_t in = rest.find(" in ");
  std::string title(trim(rest.substr(0, in)));
  if (in != std::string_view::npos) {
    std::string_view func = trim(rest.substr(in + 4));
    title += " in " + function_name(func.substr(0, func.find(' ')));
  }
  return title;
}

std::optional<Start> match_start(std::string_view text) {
  for (std::string_view tool : {"KASAN: ", "KFENCE: "}) {
    std::string marker = "BUG: " + std::string(tool);
    if (std::size_t p = text.find(marker); p != std::string_view::npos) {
      std::string kind(tool.substr(0, tool.size() - 2));
      return Start{kind, kind + ": " + sanitizer_title(text.substr(p + marker.size())),
                   EndMarker::rule};
    }
  }
  if (starts_with(text, "UBSAN: ")) {
    // "UBSAN: array-index-out-of-bounds in /abs/drivers/misc/lkdtm/bugs.c:348:16"
    std::string title = strip_line_numbers(trim(text));
    if (std::size_t in = title.find(" in /"); in != std::string::npos)
      title = title.substr(0, in + 4) + kernel_relative(std::string_view(title).substr(in + 4));
    return Start{"UBSAN", title, EndMarker::rule};
  }
  if (contains(text, "watchdog: BUG: soft lockup"))
    return Start{"soft lockup", "BUG: soft lockup", EndMarker::none, Refine::rip, Stack::required};
  if (starts_with(text, "WARNING: CPU: ")) {
    std::string func = warning_function(text);
    return Start{"WARNING", func.empty() ? "WARNING" : "WARNING in " + func, EndMarker::trace};
  }
  if (starts_with(text, "WARNING: ")) {
    std::string_view banner = trim(text.substr(9));
    while (!banner.empty() && banner.back() == '!') banner.remove_suffix(1);
    for (std::string_view known : kLockdepBanners)
      if (banner == known)
        return Start{"lockdep", "lockdep: " + std::string(known), EndMarker::none, Refine::none,
                     Stack::required};
    return std::nullopt;
  }
  if (starts_with(text, "kernel BUG at "))
    return Start{"BUG", strip_line_numbers(trim(text.substr(0, text.find('!')))), EndMarker::trace,
                 Refine::rip, Stack::required};
  // A BUG that oopses ("unable to handle page fault") gains an end marker
  // when its Oops line arrives; one that only dumps a stack has none. Every
  // BUG dumps a stack.
  if (starts_with(text, "BUG: "))
    return Start{"BUG", bug_title(text), EndMarker::none, Refine::rip, Stack::required};
  if (starts_with(text, "Unable to handle kernel "))  // arm64's "BUG: unable to handle..."
    return Start{"BUG", arm64_fault_title(text), EndMarker::none, Refine::rip, Stack::required};
  if (is_oops_line(text)) {
    std::string base = starts_with(text, "general protection fault") ? "general protection fault"
                       : starts_with(text, "invalid opcode")         ? "invalid opcode"
                                                                     : "Oops";
    return Start{"Oops", base, EndMarker::trace, Refine::rip};
  }
  if (starts_with(text, "Kernel panic - not syncing: ")) {
    std::string msg = strip_addresses(strip_line_numbers(trim(text.substr(28))));
    return Start{"panic", "kernel panic: " + msg};
  }
  if (starts_with(text, "INFO: task ") && contains(text, " blocked for more than "))
    return Start{"hung task", "INFO: task hung", EndMarker::none, Refine::first_frame,
                 Stack::required};
  if (starts_with(text, "rcu: INFO: ") &&
      (contains(text, "detected stalls") || contains(text, "detected stall "))) {
    // "rcu: INFO: rcu_sched self-detected stall on CPU" (the stalled CPU saw
    // it) and "rcu: INFO: rcu_sched detected stalls on CPUs/tasks" (another
    // CPU, or the grace-period kthread starved) are one bug seen from two
    // sides; which side reports depends on the CPU count and timing, so the
    // title keeps the flavour only.
    std::string_view rest = text.substr(11);
    std::string flavour(rest.substr(0, rest.find(' ')));
    return Start{"RCU stall", "INFO: " + flavour + " detected stall"};
  }
  return std::nullopt;
}

// "RIP: 0010:iterate_mm_list+0x2c5/0x300" or "pc : iterate_mm_list+0x2c5/0x300".
std::string rip_function(std::string_view text) {
  std::string_view rest;
  if (starts_with(text, "RIP: ")) {
    rest = text.substr(5);
    std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return {};
    rest = rest.substr(colon + 1);
  } else if (starts_with(text, "pc : ")) {
    rest = text.substr(5);
  } else {
    return {};
  }
  rest = trim(rest);
  if (!contains(rest, "+0x")) return {};  // a user-space RIP: "RIP: 0033:0x42fc79"
  std::string name = function_name(rest.substr(0, rest.find(' ')));
  return is_identifier(name) ? name : std::string();
}

// " try_to_inc_max_seq+0x5d/0x9a0" -> the function; "? foo" frames are
// guesses of the unwinder and do not count.
std::string frame_function(std::string_view text) {
  std::string_view t = trim(text);
  if (t.empty() || t.front() == '?' || !contains(t, "+0x")) return {};
  std::string name = function_name(t.substr(0, t.find(' ')));
  return is_identifier(name) ? name : std::string();
}

// Where a blocked task waits, not why: these frames are the waiting itself.
bool is_wait_frame(std::string_view f) {
  for (std::string_view prefix : {"__schedule",
                                  "schedule",
                                  "io_schedule",
                                  "__mutex_lock",
                                  "mutex_lock",
                                  "__down",
                                  "down_",
                                  "rwsem_down",
                                  "__rwsem",
                                  "wait_for_completion",
                                  "__wait_for_common",
                                  "wait_for_common",
                                  "__flush_work",
                                  "flush_work",
                                  "percpu_rwsem_wait",
                                  "__percpu_down",
                                  "percpu_down",
                                  "rt_mutex",
                                  "__wait_on_bit",
                                  "out_of_line_wait_on_bit",
                                  "bit_wait",
                                  "folio_wait",
                                  "__folio_lock",
                                  "__lock_page",
                                  "synchronize_rcu",
                                  "__synchronize_srcu",
                                  "__cond_resched",
                                  "__switch_to",
                                  "context_switch"})
    if (f.starts_with(prefix)) return true;
  return f == "down";
}

// A stack frame line: " func+0x1c/0x40", " ? func+0x..", with an optional
// " [module]" (x86 and arm64 print frames alike).
bool is_frame(std::string_view text) {
  std::string_view t = trim(text);
  if (starts_with(t, "? ")) t.remove_prefix(2);
  std::size_t plus = t.find("+0x");
  return plus != std::string_view::npos && plus > 0 && contains(t.substr(plus), "/0x") &&
         is_identifier(function_name(t.substr(0, plus)));
}

// How a finding's excerpt begins: the "cut here" line or the "=====" rule a
// few lines above the line that opened it, when there is one.
constexpr std::size_t kLookBack = 6;

void append_line(std::string& excerpt, std::string_view text) {
  excerpt.append(text);
  excerpt += '\n';
}

}  // namespace

std::string finding_start_title(std::string_view line) {
  auto start = match_start(message_of(line));
  return start ? start->title : std::string();
}

ConsoleFindings parse_console(std::string_view log) {
  ConsoleFindings out;
  std::optional<OpenFinding> open;
  std::size_t line_no = 0;
  // The last few lines' messages, for the lines above a finding's first.
  std::array<std::string_view, kLookBack> recent{};
  std::size_t recent_count = 0;

  auto close = [&] { open.reset(); };
  auto add_line = [&](std::string_view text) {
    if (open->lines++ < kExcerptLines) append_line(out.findings[open->index].excerpt, text);
  };

  std::size_t pos = 0;
  while (pos < log.size()) {
    std::size_t nl = log.find('\n', pos);
    std::string_view line =
        log.substr(pos, nl == std::string_view::npos ? log.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? log.size() : nl + 1;
    ++line_no;

    std::string_view text = message_of(line);
    auto remember = [&] { recent[recent_count++ % kLookBack] = text; };
    if (starts_with(text, "Linux version ")) {
      if (out.booted) {
        // A second banner: the guest rebooted behind our back.
        close();
        out.findings.push_back(
            ConsoleFinding{"reboot", "unexpected reboot", line_no, false, false, std::string()});
        append_line(out.findings.back().excerpt, text);
      }
      out.booted = true;
    } else if (!out.booted && contains(text, "Linux version ")) {
      out.booted = true;
    }

    if (open) {
      if ((open->end == EndMarker::trace && starts_with(text, "---[ end trace")) ||
          (open->end == EndMarker::rule && is_rule(text))) {
        add_line(text);
        close();
        remember();
        continue;
      }
      // "BUG: unable to handle page fault ..." goes on with "Oops: 0000 [#1]"
      // (x86) or "Internal error: Oops" (arm64); "kernel BUG at" with
      // "invalid opcode" / "Internal error: Oops - BUG": one finding, which
      // now ends with an end-trace marker.
      if (is_oops_line(text) && out.findings[open->index].kind == "BUG" && !open->stack_closed) {
        open->end = EndMarker::trace;
        add_line(text);
        remember();
        continue;
      }
    }

    if (auto start = match_start(text)) {
      close();  // the previous finding ended without its marker: interleaved, not cut off
      ConsoleFinding finding{start->kind, start->title, line_no, false, false, std::string()};
      // The lines above that belong to it: back to a "cut here" or a rule.
      std::size_t have = std::min(recent_count, kLookBack);
      for (std::size_t back = 1; back <= have; ++back) {
        std::string_view prev = recent[(recent_count - back) % kLookBack];
        if (contains(prev, "[ cut here ]") || is_rule(prev)) {
          for (std::size_t k = back; k >= 1; --k)
            append_line(finding.excerpt, recent[(recent_count - k) % kLookBack]);
          break;
        }
      }
      append_line(finding.excerpt, text);
      out.panicked |= start->kind == "panic";
      out.findings.push_back(std::move(finding));
      open = OpenFinding{out.findings.size() - 1, start->title, start->end, start->refine,
                         start->stack};
      remember();
      continue;
    }
    remember();
    if (!open) continue;

    add_line(text);
    std::string_view t = trim(text);
    ConsoleFinding& finding = out.findings[open->index];
    if (t == "Call Trace:" || t == "Call trace:") {
      open->in_trace = true;
      open->frames = 0;
    } else if (t == "<TASK>") {
      open->in_trace = open->marked = open->in_task = true;
    } else if (t == "</TASK>") {
      open->in_task = open->in_trace = false;
      open->stack_closed = true;
      if (open->end == EndMarker::none) close();
      continue;
    } else if (open->in_trace && !open->marked) {
      // arm64 has no <TASK> markers: the trace is over at its first line
      // that is not a frame.
      if (is_frame(text) || starts_with(t, "<") || t.empty()) {
        ++open->frames;
      } else if (open->frames > 0) {
        open->in_trace = false;
        open->stack_closed = true;
        if (open->end == EndMarker::none) {
          // This line is not the finding's any more (when it made it in).
          std::string& ex = finding.excerpt;
          if (open->lines <= kExcerptLines && ex.size() >= 2) {
            std::size_t cut = ex.rfind('\n', ex.size() - 2);
            ex.resize(cut == std::string::npos ? 0 : cut + 1);
          }
          close();
          continue;
        }
      }
    }
    if (!open->refined && open->refine == Refine::rip) {
      if (std::string func = rip_function(text); !func.empty()) {
        // "kernel BUG at file.c" becomes "kernel BUG in func": the function
        // says it, the file adds nothing.
        std::string base =
            starts_with(open->base_title, "kernel BUG at ") ? "kernel BUG" : open->base_title;
        finding.title = base + " in " + func;
        open->refined = true;
      }
    } else if (!open->refined && open->refine == Refine::first_frame && open->in_trace) {
      if (std::string func = frame_function(text); !func.empty() && !is_wait_frame(func)) {
        finding.title = open->base_title + " in " + func;
        open->refined = true;
      }
    }
  }

  // The log ended inside a finding: in the middle of a stack dump, before the
  // end marker the finding always prints, or before its stack at all.
  if (open) {
    bool in_stack = open->in_task || (open->in_trace && open->frames > 0);
    bool cut = in_stack || open->end != EndMarker::none ||
               (open->stack == Stack::required && !open->stack_closed);
    out.findings[open->index].corrupted = cut && out.findings[open->index].kind != "panic";
  }

  // One finding per title: a soft lockup repeats, a second WARNING of a
  // WARN_ON_ONCE site does not exist. Titles are final only now (refined
  // from RIP / frames), so duplicates go at the end.
  std::vector<ConsoleFinding> unique;
  std::unordered_set<std::string> titles;
  for (auto& f : out.findings)
    if (titles.insert(f.title).second) unique.push_back(std::move(f));
  out.findings = std::move(unique);
  return out;
}

}  // namespace kh
