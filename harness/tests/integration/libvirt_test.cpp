// Real libvirtd, real QEMU: the libvirt backend against the qemu backend on
// the same job, nothing left on the host after a run, a panic or a Ctrl-C;
// and a pool of two hosts, the second a libvirtd in a network namespace of
// its own reached over TCP, one of them killed mid-run.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "kharness_cli.h"
#include "build_info.h"
#include "util/files.h"
#include "util/process.h"

namespace kh::it {
namespace {

// A shell command's exit code and output.
CliResult sh(const std::string& cmd) {
  RealProcessRunner runner;
  Command c;
  c.argv = {"sh", "-c", cmd};
  c.timeout = std::chrono::minutes(2);
  auto r = runner.run(c);
  return {r.exit_code, r.output};
}

// The local libvirtd, started by harness/setup.sh when it is not running
// (no systemd here: under tini, a subreaper).
void ensure_local_libvirtd() {
  if (sh("virsh -q -c qemu:///system version >/dev/null 2>&1").exit_code == 0) return;
  sh(KHARNESS_SOURCE_DIR "/harness/setup.sh --libvirtd");
  for (int i = 0; i < 40; ++i) {
    if (sh("virsh -q -c qemu:///system version >/dev/null 2>&1").exit_code == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// Domains and kharness storage pools a libvirt host still has.
std::string leftovers(const std::string& uri) {
  auto d = sh(fmt::format("virsh -q -c {} list --all --name | grep kharness-it || true", uri));
  auto p = sh(fmt::format("virsh -q -c {} pool-list --all --name | grep kharness-it || true", uri));
  return d.output + p.output;
}

// `kharness args...` in the background, for a signal mid-run.
pid_t spawn_kharness(const std::vector<std::string>& given, const std::filesystem::path& log) {
  const std::vector<std::string> args = without_stray_history(given);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(KHARNESS_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(KHARNESS_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Polls until `virsh list` on `uri` shows a running kharness domain.
bool wait_for_domain(const std::string& uri, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (!sh(fmt::format("virsh -q -c {} list --name | grep kharness-it", uri)).output.empty())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

class LibvirtBackendX86 : public JobRunTest {
 protected:
  static void SetUpTestSuite() {
    ensure_local_libvirtd();
    qemu_out_ = std::make_unique<ScopedTempDir>("kharness-it");
    qemu_ = std::make_unique<CliResult>(run_kharness(
        {"run", job("libvirt-x86_64.yaml"), "--out", qemu_out_->path().string(), "--jobs", "2"}));
    start({"run", job("libvirt-x86_64.yaml"), "--backend", "libvirt", "--jobs", "2"});
  }
  static void TearDownTestSuite() {
    finish();
    qemu_.reset();
    qemu_out_.reset();
  }
  static inline std::unique_ptr<ScopedTempDir> qemu_out_;
  static inline std::unique_ptr<CliResult> qemu_;
};

TEST_F(LibvirtBackendX86, SameOutcomesAndComparableMetricsAsQemu) {
  ASSERT_EQ(qemu_->exit_code, 0) << qemu_->output;
  ASSERT_EQ(cli().exit_code, 0) << cli().output;
  for (const char* id : {"pagecache", "kmem"}) {
    auto lv = result(id);
    auto q = read_json(qemu_out_->path() / "linux-6.1/x86_64" / id / "result.json");
    EXPECT_EQ(lv["outcome"], q["outcome"]) << id;
    EXPECT_EQ(lv["kernel"]["artifact_key"], q["kernel"]["artifact_key"]) << "one kernel, cached";
    // The workload's own numbers: the same leak (or none) on both.
    double iterations = lv["metrics"]["iterations"];
    double a = lv["metrics"]["dying_after_loop"], b = q["metrics"]["dying_after_loop"];
    EXPECT_LE(std::fabs(a - b), 0.1 * iterations) << id << ": libvirt " << a << ", qemu " << b;
    EXPECT_EQ(lv["metrics"]["tainted"], q["metrics"]["tainted"]) << id;
    // Same guest, same TCG: boots within a few seconds of each other.
    double lb = lv["timings"]["boot"], qb = q["timings"]["boot"];
    EXPECT_GT(lb, 0);
    EXPECT_LT(std::fabs(lb - qb), 10) << id << ": boot libvirt " << lb << " s, qemu " << qb;
  }
}

TEST_F(LibvirtBackendX86, ResultsSayWhereTheyRanAndKeepTheDomain) {
  for (const char* id : {"pagecache", "kmem"}) {
    auto r = result(id);
    EXPECT_EQ(r["host"], "qemu:///system") << id;
    EXPECT_EQ(r["accel"], "tcg");
    std::string xml = read_file(run_dir(id) / "domain.xml");
    EXPECT_NE(xml.find("<kernel>/var/lib/libvirt/images/kharness-it-libvirt-"), std::string::npos)
        << xml;
    // The consoles came back through streams, whole.
    std::string console = read_file(run_dir(id) / "console.log");
    EXPECT_NE(console.find("Linux version " + r["kernel"]["release"].get<std::string>()),
              std::string::npos);
    EXPECT_NE(read_file(run_dir(id) / "records.jsonl").find("\"type\":\"done\""),
              std::string::npos);
    // reproduce.sh replays it under plain QEMU.
    EXPECT_NE(read_file(run_dir(id) / "reproduce.sh").find("qemu-system-x86_64"),
              std::string::npos);
  }
}

TEST_F(LibvirtBackendX86, NoDomainOrPoolIsLeft) {
  EXPECT_EQ(leftovers("qemu:///system"), "");
}

TEST_F(LibvirtBackendX86, PanicIsAFailAndLeavesNothing) {
  ScopedTempDir out("kharness-it");
  auto r = run_kharness(
      {"run", job("panic.yaml"), "--backend", "libvirt", "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto res = read_json(out.path() / "linux-6.1/x86_64/dying-cgroup/result.json");
  EXPECT_EQ(res["outcome"], "fail");
  EXPECT_NE(res["reason"].get<std::string>().find("panic"), std::string::npos) << res["reason"];
  // The domain ended with the panic (on_reboot destroy), not at a timeout.
  EXPECT_LT(res["timings"]["vm_total"].get<double>(), 30);
  EXPECT_EQ(leftovers("qemu:///system"), "");
}

TEST_F(LibvirtBackendX86, CtrlCMidRunDestroysTheDomain) {
  ScopedTempDir out("kharness-it");
  pid_t pid = spawn_kharness({"run", job("libvirt-x86_64.yaml"), "--backend", "libvirt",
                              "--workload", "pagecache", "--out", out.path().string()},
                             out.path() / "kharness.log");
  bool seen = wait_for_domain("qemu:///system", std::chrono::seconds(60));
  ::kill(pid, SIGINT);
  int code = wait_exit(pid);
  ASSERT_TRUE(seen) << read_file(out.path() / "kharness.log");
  EXPECT_EQ(code, 130) << read_file(out.path() / "kharness.log");
  auto res = read_json(out.path() / "linux-6.1/x86_64/pagecache/result.json");
  EXPECT_EQ(res["outcome"], "infra");
  EXPECT_EQ(res["reason"], "interrupted");
  EXPECT_EQ(leftovers("qemu:///system"), "");
}

// A second libvirtd in a network namespace of its own, listening on TCP on
// that namespace's address only, no auth (test-only config), with its own
// /run, /var/lib, /var/log and /etc libvirt folders (bind mounts in a mount
// namespace) so it never meets the system libvirtd; gone after 20 minutes
// whatever happens.
class NetnsLibvirtd {
 public:
  NetnsLibvirtd() : dir_("kharness-it-netns") {
    static int instances = 0;
    int k = instances++;
    int n = static_cast<int>((::getpid() + k) % 200) + 20;
    ns_ = fmt::format("kh-it-{}-{}", ::getpid(), k);
    veth_ = fmt::format("khv{}{}", ::getpid() % 100000, k);
    host_ip_ = fmt::format("10.231.{}.1", n);
    ip_ = fmt::format("10.231.{}.2", n);
    const auto& d = dir_.path();
    for (const char* sub : {"run", "lib", "cache", "log", "pool"}) ensure_dir(d / sub);
    sh(fmt::format("cp -a /etc/libvirt {}/etc", d.string()));
    // The system libvirtd's QEMU capabilities (same binaries): without them
    // this one probes every qemu-system-* first, which takes long on a busy
    // machine.
    sh(fmt::format("cp -a /var/cache/libvirt/. {}/cache/ 2>/dev/null || true", d.string()));
    write_file(d / "etc/libvirtd.conf", fmt::format("listen_tls = 0\nlisten_tcp = 1\n"
                                                    "listen_addr = \"{}\"\nauth_tcp = \"none\"\n",
                                                    ip_));
    // root-owned files in a temp folder, no cgroups (the namespace has its
    // own /sys), no virtlogd (the system one belongs to the system libvirtd).
    write_file(d / "etc/qemu.conf",
               "user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\n"
               "cgroup_controllers = [ ]\nstdio_handler = \"file\"\nsecurity_driver = \"none\"\n");
    auto r = sh(fmt::format(
        "set -e; ip netns add {ns}; ip link add {v}a type veth peer name {v}b; "
        "ip link set {v}b netns {ns}; ip addr add {h}/24 dev {v}a; ip link set {v}a up; "
        "ip netns exec {ns} ip addr add {ip}/24 dev {v}b; ip netns exec {ns} ip link set {v}b up; "
        "ip netns exec {ns} ip link set lo up",
        fmt::arg("ns", ns_), fmt::arg("v", veth_), fmt::arg("h", host_ip_), fmt::arg("ip", ip_)));
    if (r.exit_code != 0) {
      error_ = "network namespace: " + r.output;
      return;
    }
    std::string inner = fmt::format(
        "mount --bind {d}/run /run/libvirt && mount --bind {d}/lib /var/lib/libvirt && "
        "mount --bind {d}/cache /var/cache/libvirt && mount --bind {d}/log /var/log/libvirt && "
        "mount --bind {d}/etc /etc/libvirt && "
        "exec timeout -s KILL 1200 tini -s -- libvirtd -l -p {d}/libvirtd.pid "
        "-f /etc/libvirt/libvirtd.conf",
        fmt::arg("d", d.string()));
    // setsid: out of the runner's process group, which it kills when sh exits.
    sh(
        fmt::format("setsid -f ip netns exec {} unshare -m --propagation private sh -c '{}' "
                    ">{}/libvirtd.log 2>&1",
                    ns_, inner, d.string()));
    for (int i = 0; i < 240; ++i) {
      if (sh(fmt::format("virsh -q -c {} version >/dev/null 2>&1", uri())).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    error_ = "libvirtd in the namespace did not answer: " + read_file(d / "libvirtd.log");
  }
  ~NetnsLibvirtd() {
    kill();
    sh(fmt::format("ip netns del {}; ip link del {}a", ns_, veth_));
  }
  // SIGKILL to every process of the namespace: its libvirtd and the QEMUs
  // it started (the test's own, nothing else lives there).
  void kill() { sh(fmt::format("for p in $(ip netns pids {}); do kill -9 $p; done", ns_)); }
  std::string uri() const { return fmt::format("qemu+tcp://{}/system", ip_); }
  std::filesystem::path pool_dir() const { return dir_.path() / "pool"; }
  const std::string& error() const { return error_; }

 private:
  ScopedTempDir dir_;
  std::string ns_, veth_, host_ip_, ip_, error_;
};

// Four short runs over the local libvirtd and the namespace one.
std::string hosts_job(const NetnsLibvirtd& remote) {
  std::string job = fmt::format(
      "name: it-hosts\n"
      "kernels:\n"
      "  - name: linux-6.1\n"
      "    source: {{tarball: /usr/src/linux-source-6.1.tar.xz}}\n"
      "    expect: {{a: [tainted == 0], b: [tainted == 0], c: [tainted == 0], d: [tainted == 0]}}\n"
      "arches: [x86_64]\n"
      "hosts:\n"
      "  - {{uri: 'qemu:///system', slots: 1}}\n"
      "  - {{uri: '{}', slots: 1, pool_dir: '{}'}}\n"
      "workloads:\n",
      remote.uri(), remote.pool_dir().string());
  for (const char* id : {"a", "b", "c", "d"})
    job += fmt::format(
        "  - {{id: {}, workload: dying-cgroup, params: {{iterations: 30, pin: kmem, "
        "settle_seconds: 1}}}}\n",
        id);
  job += "timeouts: {boot: 60, workload: 300}\n";
  return job;
}

// Namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN (root on a host or a
// privileged container).
bool can_make_namespaces() {
  return sh("unshare -n -m true").exit_code == 0;
}

TEST(LibvirtHosts, MatrixSpreadsOverLocalAndRemote) {
  if (!can_make_namespaces()) GTEST_SKIP() << "cannot create network namespaces here";
  ensure_local_libvirtd();
  NetnsLibvirtd remote;
  ASSERT_EQ(remote.error(), "");
  ScopedTempDir out("kharness-it");
  write_file(out.path() / "job.yaml", hosts_job(remote));
  auto r = run_kharness(
      {"run", (out.path() / "job.yaml").string(), "--out", (out.path() / "res").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, int> per_host;
  for (const char* id : {"a", "b", "c", "d"}) {
    auto res = read_json(out.path() / "res/linux-6.1/x86_64" / id / "result.json");
    EXPECT_EQ(res["outcome"], "pass") << id;
    EXPECT_FALSE(res.contains("infra_attempts")) << id;
    per_host[res["host"].get<std::string>()]++;
  }
  EXPECT_GE(per_host["qemu:///system"], 1) << r.output;
  EXPECT_GE(per_host[remote.uri()], 1) << r.output;
  EXPECT_EQ(leftovers("qemu:///system"), "");
  EXPECT_EQ(leftovers(remote.uri()), "");
}

TEST(LibvirtHosts, KilledHostsRunsFinishOnTheOther) {
  if (!can_make_namespaces()) GTEST_SKIP() << "cannot create network namespaces here";
  ensure_local_libvirtd();
  NetnsLibvirtd remote;
  ASSERT_EQ(remote.error(), "");
  ScopedTempDir out("kharness-it");
  write_file(out.path() / "job.yaml", hosts_job(remote));
  pid_t pid = spawn_kharness(
      {"run", (out.path() / "job.yaml").string(), "--out", (out.path() / "res").string()},
      out.path() / "kharness.log");
  bool seen = wait_for_domain(remote.uri(), std::chrono::seconds(90));
  remote.kill();
  int code = wait_exit(pid);
  std::string log = read_file(out.path() / "kharness.log");
  ASSERT_TRUE(seen) << log;
  EXPECT_EQ(code, 0) << log;
  int retried = 0;
  for (const char* id : {"a", "b", "c", "d"}) {
    auto dir = out.path() / "res/linux-6.1/x86_64" / id;
    auto res = read_json(dir / "result.json");
    // Every run counted, and on the host that stayed.
    EXPECT_EQ(res["outcome"], "pass") << id << ": " << res["reason"];
    if (res.contains("infra_attempts")) {
      ++retried;
      EXPECT_EQ(res["host"], "qemu:///system") << id;
      EXPECT_NE(res["infra_attempts"][0].get<std::string>().find(remote.uri()), std::string::npos);
      EXPECT_TRUE(std::filesystem::exists(dir / "console.attempt1.log")) << id;
    }
  }
  EXPECT_GE(retried, 1) << log;
  EXPECT_EQ(read_json(out.path() / "res/summary.json")["runs"].size(), 4u);
  EXPECT_EQ(leftovers("qemu:///system"), "");
}

}  // namespace
}  // namespace kh::it
