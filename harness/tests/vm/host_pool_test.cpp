#include "vm/host_pool.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "util/error.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace kh {
namespace {

// A host behind the seam: each run takes `seconds`, writes a console line,
// and ends with `kind` (host_failed: the host is gone).
class FakeHost : public Backend {
 public:
  FakeHost(std::string uri, VmExitKind kind, int ms = 20)
      : uri_(std::move(uri)), kind_(kind), ms_(ms) {}
  std::string name() const override { return "fake"; }
  VmExit run(const BootRequest& req, const RecordSink&) override {
    int now = ++running_;
    int seen = max_running_.load();
    while (now > seen && !max_running_.compare_exchange_weak(seen, now)) {
    }
    write_file(req.run_dir / "console.log", "booted on " + uri_ + "\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(ms_));
    --running_;
    ++runs_;
    VmExit e;
    e.kind = kind_;
    e.host = uri_;
    if (kind_ == VmExitKind::host_failed) e.vm_output = uri_ + ": connection lost";
    return e;
  }
  VmExit attach(const BootRequest&) override { throw InputError("no"); }

  std::string uri_;
  VmExitKind kind_;
  int ms_;
  std::atomic<int> running_{0}, max_running_{0}, runs_{0};
};

struct PoolFixture : ::testing::Test {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      fmt::format("kh-pool-{}", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  BootRequest request(const char* arch, const std::string& sub) {
    BootRequest r;
    r.arch = find_arch(arch);
    r.run_dir = dir / sub;
    std::filesystem::create_directories(r.run_dir);
    return r;
  }
  // Runs n requests from `threads` threads, as the executor's workers do.
  std::vector<VmExit> run_all(HostPool& pool, const char* arch, int n, int threads) {
    std::vector<VmExit> out(static_cast<std::size_t>(n));
    std::atomic<int> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        for (int k; (k = next++) < n;)
          out[static_cast<std::size_t>(k)] =
              pool.run(request(arch, "run" + std::to_string(k)), nullptr);
      });
    for (auto& t : ts) t.join();
    return out;
  }
};

TEST_F(PoolFixture, SpreadsRunsOverHostsWithinTheirSlots) {
  auto a = std::make_unique<FakeHost>("qemu:///a", VmExitKind::powered_off);
  auto b = std::make_unique<FakeHost>("qemu+tcp://b/system", VmExitKind::powered_off);
  FakeHost *fa = a.get(), *fb = b.get();
  std::vector<PoolHost> hosts;
  hosts.push_back({"qemu:///a", std::move(a), 1, {}});
  hosts.push_back({"qemu+tcp://b/system", std::move(b), 2, {}});
  HostPool pool(std::move(hosts));
  EXPECT_EQ(pool.total_slots(), 3);
  auto exits = run_all(pool, "x86_64", 12, 3);
  for (const auto& e : exits) {
    EXPECT_EQ(e.kind, VmExitKind::powered_off);
    EXPECT_TRUE(e.infra_attempts.empty());
  }
  EXPECT_EQ(fa->runs_ + fb->runs_, 12);
  EXPECT_GT(fa->runs_, 0);
  EXPECT_GT(fb->runs_, 0);
  EXPECT_LE(fa->max_running_, 1);
  EXPECT_LE(fb->max_running_, 2);
  auto st = pool.states();
  EXPECT_EQ(st[0].runs + st[1].runs, 12);
}

TEST_F(PoolFixture, ArchCapabilityDecidesTheHost) {
  auto x = std::make_unique<FakeHost>("x", VmExitKind::powered_off);
  auto arm = std::make_unique<FakeHost>("arm", VmExitKind::powered_off);
  FakeHost* farm = arm.get();
  std::vector<PoolHost> hosts;
  hosts.push_back({"x", std::move(x), 4, {"x86_64"}});
  hosts.push_back({"arm", std::move(arm), 1, {"arm64"}});
  HostPool pool(std::move(hosts));
  auto exits = run_all(pool, "arm64", 4, 3);
  EXPECT_EQ(farm->runs_, 4);
  for (const auto& e : exits) EXPECT_EQ(e.host, "arm");
}

TEST_F(PoolFixture, FailedHostsRunsGoElsewhereAsInfraAttempts) {
  auto bad = std::make_unique<FakeHost>("bad", VmExitKind::host_failed);
  auto good = std::make_unique<FakeHost>("good", VmExitKind::powered_off);
  FakeHost *fbad = bad.get(), *fgood = good.get();
  std::vector<PoolHost> hosts;
  hosts.push_back({"bad", std::move(bad), 2, {}});
  hosts.push_back({"good", std::move(good), 1, {}});
  HostPool pool(std::move(hosts));
  auto exits = run_all(pool, "x86_64", 6, 3);
  EXPECT_EQ(fgood->runs_, 6) << "every run counted on the good host";
  EXPECT_GE(fbad->runs_, 1);
  EXPECT_LE(fbad->runs_, 2) << "the failed host is given up at once";
  int retried = 0;
  for (const auto& e : exits) {
    EXPECT_EQ(e.kind, VmExitKind::powered_off);
    EXPECT_EQ(e.host, "good");
    if (!e.infra_attempts.empty()) {
      ++retried;
      EXPECT_EQ(e.infra_attempts[0], "bad: connection lost");
    }
  }
  EXPECT_EQ(retried, fbad->runs_);
  EXPECT_TRUE(pool.states()[0].failed);
  // The failed attempt's console is kept beside the one that counted.
  int kept = 0;
  for (int k = 0; k < 6; ++k) {
    auto d = dir / ("run" + std::to_string(k));
    if (std::filesystem::exists(d / "console.attempt1.log")) {
      ++kept;
      EXPECT_EQ(read_file(d / "console.attempt1.log"), "booted on bad\n");
      EXPECT_EQ(read_file(d / "console.log"), "booted on good\n");
    }
  }
  EXPECT_EQ(kept, retried);
}

TEST_F(PoolFixture, NoHostLeftIsInfraWithEveryReason) {
  std::vector<PoolHost> hosts;
  hosts.push_back({"a", std::make_unique<FakeHost>("a", VmExitKind::host_failed), 1, {}});
  hosts.push_back({"b", std::make_unique<FakeHost>("b", VmExitKind::host_failed), 1, {}});
  HostPool pool(std::move(hosts));
  VmExit e = pool.run(request("x86_64", "r"), nullptr);
  EXPECT_EQ(e.kind, VmExitKind::host_failed);
  EXPECT_EQ(e.infra_attempts.size(), 2u);
  EXPECT_NE(e.vm_output.find("no host left that runs x86_64"), std::string::npos);
  EXPECT_NE(e.vm_output.find("a: connection lost"), std::string::npos);
  EXPECT_NE(e.vm_output.find("b: connection lost"), std::string::npos);
}

TEST_F(PoolFixture, NoHostForTheArchAtAll) {
  std::vector<PoolHost> hosts;
  hosts.push_back({"x", std::make_unique<FakeHost>("x", VmExitKind::powered_off), 1, {"x86_64"}});
  HostPool pool(std::move(hosts));
  VmExit e = pool.run(request("arm64", "r"), nullptr);
  EXPECT_EQ(e.kind, VmExitKind::host_failed);
  EXPECT_TRUE(e.infra_attempts.empty());
}

TEST_F(PoolFixture, InterruptedWhileWaitingForASlot) {
  std::vector<PoolHost> hosts;
  hosts.push_back(
      {"slow", std::make_unique<FakeHost>("slow", VmExitKind::powered_off, 400), 1, {}});
  HostPool pool(std::move(hosts));
  std::thread busy([&] { pool.run(request("x86_64", "a"), nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread stop([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    set_interrupted_for_test(true);
  });
  VmExit e = pool.run(request("x86_64", "b"), nullptr);
  stop.join();
  busy.join();
  set_interrupted_for_test(false);
  EXPECT_EQ(e.kind, VmExitKind::interrupted);
}

}  // namespace
}  // namespace kh
