// A pool of hosts behind one Backend: each run goes to a live host that
// can run its arch and has a free slot (the least loaded first), waiting
// when all are busy. A host whose run ends in VmExitKind::host_failed is
// given up for the rest of the job and the run is retried on another; the
// failed attempts travel with the result (VmExit::infra_attempts), their
// console.log and records.jsonl kept beside it as
// console.attempt<N>.log / records.attempt<N>.jsonl. The executor's worker
// threads (`jobs`, the sum of the slots) call run() concurrently.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vm/backend.h"

namespace kh {

struct PoolHost {
  std::string name;  // the URI, for messages and results
  std::unique_ptr<Backend> backend;
  int slots = 1;
  std::vector<std::string> arches;  // empty: any
};

class HostPool : public Backend {
 public:
  explicit HostPool(std::vector<PoolHost> hosts);
  std::string name() const override { return "pool"; }
  // Returns the exit of the attempt that counted; host_failed (infra) only
  // when no live host that runs the arch is left. Interrupted while waiting
  // for a slot: `interrupted`.
  VmExit run(const BootRequest& req, const RecordSink& on_record) override;
  // On the first host that runs the arch.
  VmExit attach(const BootRequest& req) override;

  int total_slots() const;
  // Per host, in the order given: runs that counted there, and whether it
  // was given up.
  struct HostState {
    int busy = 0;
    int runs = 0;
    bool failed = false;
    std::string why;
  };
  std::vector<HostState> states() const;

 private:
  // The host for a run of `arch` now: -1 when all that could are busy,
  // -2 when none that could is left.
  int pick(std::string_view arch) const;

  std::vector<PoolHost> hosts_;
  std::vector<HostState> state_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace kh
