#!/usr/bin/env bash
# Measures the libvirt backend's targets and prints the figures.
#
#   per-VM overhead of the libvirt backend over the qemu backend   <= 1 s
#     (the same short x86_64 run, one VM at a time, N times each; median of
#     vm_total = start -> guest gone, and of boot = start -> agent ready)
#   a job's wall time on one libvirt host vs two (the local libvirtd plus a
#     second one in a network namespace, as the integration tests make)
#     target: two hosts a third faster. Both "hosts" share this machine's
#     CPUs, so here that is a measure of the pool's overhead, not a speed-up.
#
# Usage, from the repository root after the build, as root:
#   harness/bench-libvirt.sh [--repeats N] [--job JOB.yaml] [--skip-pool]
# --job: the job for the one-vs-two-hosts figure (default: a reduced nightly,
# 1 kernel x 2 arches x 2 short workloads x 2 repeats, written here; the full
# configs/jobs/nightly.yaml takes hours under TCG on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
kh=$PWD/build/kharness
[ -x "$kh" ] || { echo "bench: build kharness first (cmake --build --preset default)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (libvirtd, network namespaces)" >&2; exit 2; }

repeats=5
job=""
skip_pool=0
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift ;;
    --job) job=$(realpath "$2"); shift ;;
    --skip-pool) skip_pool=1 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

virsh -q -c qemu:///system version >/dev/null 2>&1 || harness/setup.sh >/dev/null
work=$(mktemp -d /var/tmp/kharness-bench-libvirt-XXXXXX)
ns=kh-bench-$$
veth=khb$$
cleanup() {
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  ip link del "${veth}a" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
timing() {  # timing RESULT.JSON KEY
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings"].get(sys.argv[2], -1))' "$1" "$2"
}

# --- per-VM overhead -------------------------------------------------------
cat >"$work/overhead.yaml" <<EOF
name: bench-libvirt
kernels:
  - name: linux-6.1
    source: {tarball: /usr/src/linux-source-6.1.tar.xz}
    expect: {short: [tainted == 0]}
arches: [x86_64]
workloads:
  - {id: short, workload: dying-cgroup, params: {iterations: 20, pin: kmem, settle_seconds: 1}}
repeats: $repeats
EOF
declare -A wall
for backend in qemu libvirt; do
  t0=$(date +%s.%N)
  "$kh" run "$work/overhead.yaml" --backend "$backend" --jobs 1 --quiet --no-history \
    --out "$work/overhead-$backend" >"$work/overhead-$backend.log" 2>&1 ||
    { echo "bench: the $backend runs failed:"; tail -20 "$work/overhead-$backend.log"; exit 1; }
  wall[$backend]=$(echo "$(date +%s.%N) - $t0" | bc)
  for f in $(find "$work/overhead-$backend" -name result.json); do
    timing "$f" vm_total >>"$work/$backend.total"
    timing "$f" boot >>"$work/$backend.boot"
    [ "$backend" = libvirt ] && { timing "$f" vm_setup >>"$work/setup"; timing "$f" vm_teardown >>"$work/teardown"; }
  done
done
qt=$(median <"$work/qemu.total") lt=$(median <"$work/libvirt.total")
qb=$(median <"$work/qemu.boot") lb=$(median <"$work/libvirt.boot")
printf 'per VM, median of %d (x86_64, TCG, one VM at a time):\n' "$repeats"
printf '  qemu backend:    vm_total %6.2f s   boot %5.2f s\n' "$qt" "$qb"
printf '  libvirt backend: vm_total %6.2f s   boot %5.2f s\n' "$lt" "$lb"
printf '  libvirt overhead per VM: %.2f s (target <= 1 s); to agent ready: %.2f s\n' \
  "$(echo "$lt - $qt" | bc)" "$(echo "$lb - $qb" | bc)"
# The job's wall time counts what vm_total leaves out: a domain's teardown
# overlapping the next run's set-up.
printf '  job wall time per VM: qemu %.2f s, libvirt %.2f s: %.2f s more per VM\n' \
  "$(echo "${wall[qemu]} / $repeats" | bc -l)" "$(echo "${wall[libvirt]} / $repeats" | bc -l)" \
  "$(echo "(${wall[libvirt]} - ${wall[qemu]}) / $repeats" | bc -l)"
printf '    of which around the guest: setup %.2f s (uploads, domain, consoles), teardown %.2f s\n' \
  "$(median <"$work/setup")" "$(median <"$work/teardown")"
# libvirt puts its domains in one cgroup (cpu.shares 1024 for all of them);
# on a busy machine that group gets less CPU than QEMU children of kharness.
[ -f /sys/fs/cgroup/cpu/machine/cpu.shares ] &&
  printf '    (libvirt guests share one cpu cgroup, machine/, shares %s; load now: %s)\n' \
    "$(cat /sys/fs/cgroup/cpu/machine/cpu.shares)" "$(cut -d' ' -f1-3 /proc/loadavg)"

[ "$skip_pool" -eq 1 ] && exit 0

# --- one host vs two -------------------------------------------------------
# The second libvirtd: its own network namespace, TCP on that address only,
# no auth, its own run/state/config folders, killed with the namespace.
n=$(( $$ % 200 + 20 ))
ip="10.232.$n.2"
mkdir -p "$work/ns"/{run,lib,cache,log,pool}
cp -a /etc/libvirt "$work/ns/etc"
cp -a /var/cache/libvirt/. "$work/ns/cache/" 2>/dev/null || true  # QEMU capabilities: no re-probe
printf 'listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "%s"\nauth_tcp = "none"\n' "$ip" \
  >"$work/ns/etc/libvirtd.conf"
printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\ncgroup_controllers = [ ]\nstdio_handler = "file"\nsecurity_driver = "none"\n' \
  >"$work/ns/etc/qemu.conf"
ip netns add "$ns"
ip link add "${veth}a" type veth peer name "${veth}b"
ip link set "${veth}b" netns "$ns"
ip addr add "10.232.$n.1/24" dev "${veth}a" && ip link set "${veth}a" up
ip netns exec "$ns" ip addr add "$ip/24" dev "${veth}b"
ip netns exec "$ns" ip link set "${veth}b" up
ip netns exec "$ns" ip link set lo up
d=$work/ns
ip netns exec "$ns" unshare -m --propagation private sh -c \
  "mount --bind $d/run /run/libvirt && mount --bind $d/lib /var/lib/libvirt && \
   mount --bind $d/cache /var/cache/libvirt && mount --bind $d/log /var/log/libvirt && \
   mount --bind $d/etc /etc/libvirt && \
   exec timeout -s KILL 7200 tini -s -- libvirtd -l -p $d/libvirtd.pid -f /etc/libvirt/libvirtd.conf" \
  >"$d/libvirtd.log" 2>&1 &
remote="qemu+tcp://$ip/system"
for _ in $(seq 240); do virsh -q -c "$remote" version >/dev/null 2>&1 && break; sleep 0.25; done
virsh -q -c "$remote" version >/dev/null 2>&1 || { echo "bench: second libvirtd did not start"; cat "$d/libvirtd.log"; exit 1; }

if [ -z "$job" ]; then
  job=$work/nightly-reduced.yaml
  cat >"$job" <<EOF
name: nightly-reduced
kernels:
  - name: linux-6.1
    source: {tarball: /usr/src/linux-source-6.1.tar.xz}
arches: [x86_64, arm64]
workloads:
  - {id: kmem, workload: dying-cgroup, params: {iterations: 200, pin: kmem, cgroup: v1, settle_seconds: 2}}
  - {id: kmem-v2, workload: dying-cgroup, params: {iterations: 200, pin: kmem, cgroup: v2, settle_seconds: 2}}
repeats: 2
timeouts: {boot: 120, workload: 900}
EOF
fi
# The same job with hosts: appended (relative paths resolve from the copy's
# folder, so the copy sits beside the original).
with_hosts() {  # with_hosts OUT HOST-LINES...
  local out=$1; shift
  grep -v '^\(hosts\|backend\|uri\):' "$job" >"$out"
  echo "hosts:" >>"$out"
  for h in "$@"; do echo "  - $h" >>"$out"; done
}
one=$(dirname "$job")/.bench-one-host-$$.yaml
two=$(dirname "$job")/.bench-two-hosts-$$.yaml
trap 'rm -f "$one" "$two"; cleanup' EXIT
with_hosts "$one" "{uri: 'qemu:///system', slots: 2}"
with_hosts "$two" "{uri: 'qemu:///system', slots: 2}" "{uri: '$remote', slots: 2, pool_dir: '$d/pool'}"
wall() {  # wall JOB NAME
  local start end
  start=$(date +%s.%N)
  "$kh" run "$1" --quiet --out "$work/$2" >"$work/$2.log" 2>&1 || true
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
# Kernels first, so neither figure pays for a build.
"$kh" run "$one" --quiet --out "$work/warm" >"$work/warm.log" 2>&1 || true
w1=$(wall "$one" one)
w2=$(wall "$two" two)
runs() { python3 -c 'import json,sys,collections; s=json.load(open(sys.argv[1])); print(len(s["runs"]), dict(collections.Counter(r["outcome"] for r in s["runs"])))' "$1"; }
hosts() { find "$1" -name result.json -exec grep -ho '"host": "[^"]*"' {} + | sort | uniq -c | tr '\n' ' '; }
echo "job $(basename "$job") with a warm cache, libvirt backend:"
printf '  one host  (local, 2 slots):              %7.1f s  runs %s\n' "$w1" "$(runs "$work/one/summary.json")"
printf '  two hosts (local + netns, 2 slots each): %7.1f s  runs %s\n' "$w2" "$(runs "$work/two/summary.json")"
printf '  two hosts / one host: %.2f (target <= 0.67 with two real machines)\n' "$(echo "$w2 / $w1" | bc -l)"
echo "  runs per host (two): $(hosts "$work/two")"
echo "  (both \"hosts\" share this machine's $(nproc) cores: any gain is from more VMs at once and the second libvirtd not using the cpu cgroup, not from more CPU)"
