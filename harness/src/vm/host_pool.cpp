#include "vm/host_pool.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/error.h"
#include "util/interrupt.h"

namespace kh {

HostPool::HostPool(std::vector<PoolHost> hosts) : hosts_(std::move(hosts)), state_(hosts_.size()) {
  if (hosts_.empty()) throw InputError("a host pool needs at least one host");
}

int HostPool::total_slots() const {
  int n = 0;
  for (const auto& h : hosts_) n += h.slots;
  return n;
}

std::vector<HostPool::HostState> HostPool::states() const {
  std::lock_guard lock(mu_);
  return state_;
}

int HostPool::pick(std::string_view arch) const {
  int best = -2;
  double best_load = 2;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& h = hosts_[i];
    if (state_[i].failed) continue;
    if (!h.arches.empty() && std::find(h.arches.begin(), h.arches.end(), arch) == h.arches.end())
      continue;
    if (best == -2) best = -1;
    if (state_[i].busy >= h.slots) continue;
    double load = static_cast<double>(state_[i].busy) / h.slots;
    if (load < best_load) {
      best_load = load;
      best = static_cast<int>(i);
    }
  }
  return best;
}

VmExit HostPool::run(const BootRequest& req, const RecordSink& on_record) {
  std::vector<std::string> attempts;
  const std::string_view arch = req.arch->name;
  for (;;) {
    int i;
    {
      std::unique_lock lock(mu_);
      while ((i = pick(arch)) == -1 && !interrupted())
        cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (i == -1) {
        VmExit e;
        e.kind = VmExitKind::interrupted;
        e.infra_attempts = attempts;
        return e;
      }
      if (i == -2) {
        std::string why;
        for (std::size_t k = 0; k < hosts_.size(); ++k)
          if (state_[k].failed) why += fmt::format("; {}", state_[k].why);
        VmExit e;
        e.kind = VmExitKind::host_failed;
        e.vm_output = fmt::format("no host left that runs {}{}", arch, why);
        e.infra_attempts = attempts;
        return e;
      }
      ++state_[i].busy;
    }
    VmExit e;
    try {
      e = hosts_[i].backend->run(req, on_record);
    } catch (...) {
      std::lock_guard lock(mu_);
      --state_[i].busy;
      cv_.notify_all();
      throw;
    }
    if (e.host.empty()) e.host = hosts_[i].name;
    {
      std::lock_guard lock(mu_);
      --state_[i].busy;
      if (e.kind == VmExitKind::host_failed) {
        state_[i].failed = true;
        state_[i].why = e.vm_output;
      } else {
        ++state_[i].runs;
      }
      cv_.notify_all();
    }
    if (e.kind != VmExitKind::host_failed) {
      e.infra_attempts = attempts;
      return e;
    }
    // Keep what the failed attempt saw; the next one starts its files anew.
    attempts.push_back(e.vm_output);
    std::error_code ec;
    std::filesystem::rename(req.run_dir / "console.log",
                            req.run_dir / fmt::format("console.attempt{}.log", attempts.size()),
                            ec);
    std::filesystem::rename(req.run_dir / "records.jsonl",
                            req.run_dir / fmt::format("records.attempt{}.jsonl", attempts.size()),
                            ec);
  }
}

VmExit HostPool::attach(const BootRequest& req) {
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& a = hosts_[i].arches;
    if (a.empty() || std::find(a.begin(), a.end(), req.arch->name) != a.end())
      return hosts_[i].backend->attach(req);
  }
  throw InputError(fmt::format("no host of the pool runs {}", req.arch->name));
}

}  // namespace kh
