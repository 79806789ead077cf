#!/usr/bin/env bash
# Measures the libvirt backend's targets and prints the figures.
#
#   per-VM overhead of the libvirt backend over the qemu backend   <= 1 s
#     (the same short x86_64 run, one VM at a time, N times each; median of
#     vm_total = start -> guest gone, and of boot = start -> agent ready)
#   a job's wall time on one libvirt host vs two, target: two hosts a third
#     faster. The "hosts" are libvirtds in network namespaces (as the
#     integration tests make them), sharing all cores or with half the
#     cores each (see "one host vs two" below).
#
# Usage, from the repository root after the build, as root:
#   harness/bench-libvirt.sh [--repeats N] [--job JOB.yaml] [--skip-pool] [--skip-overhead] [--keep]
# --keep: leave the runs' folders (the bench's work folder, printed) in place.
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
skip_overhead=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift ;;
    --job) job=$(realpath "$2"); shift ;;
    --skip-pool) skip_pool=1 ;;
    --skip-overhead) skip_overhead=1 ;;
    --keep) keep=1 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

virsh -q -c qemu:///system version >/dev/null 2>&1 || harness/setup.sh >/dev/null
work=$(mktemp -d /var/tmp/kharness-bench-libvirt-XXXXXX)
cleanup() { if [ "$keep" -eq 1 ]; then echo "bench: results kept in $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
timing() {  # timing RESULT.JSON KEY
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings"].get(sys.argv[2], -1))' "$1" "$2"
}

# --- per-VM overhead -------------------------------------------------------
if [ "$skip_overhead" -eq 0 ]; then
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

fi
[ "$skip_pool" -eq 1 ] && exit 0

# --- one host vs two -------------------------------------------------------
# A "host" here is a libvirtd of its own: its own network namespace, TCP on
# that namespace's address only, no auth, its own run/state/config folders,
# killed with the namespace. Two comparisons:
#   shared cores: host A is the system libvirtd, host B a namespace one;
#     both use all of this machine's cores, so two hosts can only gain from
#     running more VMs at once.
#   partitioned: hosts A and B are namespace libvirtds in cpuset cgroups of
#     half the cores each, the way two machines each bring their own CPUs:
#     one host has half the machine, two hosts have all of it.
cgroup_v2=0
[ -f /sys/fs/cgroup/cgroup.controllers ] && cgroup_v2=1
cpuset_dir() {  # cpuset_dir NAME: the cpuset cgroup folder for NAME
  if [ "$cgroup_v2" -eq 1 ]; then echo "/sys/fs/cgroup/$1"; else echo "/sys/fs/cgroup/cpuset/$1"; fi
}
cgroups=()
netns_hosts=()
cleanup_hosts() {
  local h p
  for h in "${netns_hosts[@]}"; do
    for p in $(ip netns pids "$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$h" 2>/dev/null || true
    ip link del "${h}a" 2>/dev/null || true
  done
  sleep 0.5
  for h in "${cgroups[@]}"; do rmdir "$h" 2>/dev/null || true; done
}
# netns_libvirtd INDEX CPUS: starts host INDEX (CPUS: a cpuset such as "1",
# or "" for all cores); sets $uri and $pool_dir.
netns_libvirtd() {
  local i=$1 cpus=$2 n ip d h cg=""
  n=$(( ($$ + i) % 200 + 20 ))
  ip="10.232.$n.2"
  h=khb$(( $$ % 10000 ))x$i
  d=$work/host$i
  mkdir -p "$d"/{run,lib,cache,log,pool}
  cp -a /etc/libvirt "$d/etc"
  cp -a /var/cache/libvirt/. "$d/cache/" 2>/dev/null || true  # QEMU capabilities: no re-probe
  printf 'listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "%s"\nauth_tcp = "none"\n' "$ip" \
    >"$d/etc/libvirtd.conf"
  # No cgroups of libvirt's own: its QEMUs stay in libvirtd's (cpuset) cgroup.
  printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\ncgroup_controllers = [ ]\nstdio_handler = "file"\nsecurity_driver = "none"\n' \
    >"$d/etc/qemu.conf"
  if [ -n "$cpus" ]; then
    cg=$(cpuset_dir "$h")
    if [ "$cgroup_v2" -eq 1 ]; then echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true; fi
    mkdir -p "$cg"
    cgroups+=("$cg")
    echo "$cpus" >"$cg/cpuset.cpus"
    echo 0 >"$cg/cpuset.mems"
  fi
  netns_hosts+=("$h")
  ip netns add "$h"
  ip link add "${h}a" type veth peer name "${h}b"
  ip link set "${h}b" netns "$h"
  ip addr add "10.232.$n.1/24" dev "${h}a" && ip link set "${h}a" up
  ip netns exec "$h" ip addr add "$ip/24" dev "${h}b"
  ip netns exec "$h" ip link set "${h}b" up
  ip netns exec "$h" ip link set lo up
  # Into the cpuset before `ip netns exec`, which mounts a /sys without it;
  # libvirtd and its QEMUs inherit it.
  sh -c "${cg:+echo \$\$ >$cg/cgroup.procs && }exec ip netns exec $h \
    unshare -m --propagation private sh -c '\
     mount --bind $d/run /run/libvirt && mount --bind $d/lib /var/lib/libvirt && \
     mount --bind $d/cache /var/cache/libvirt && mount --bind $d/log /var/log/libvirt && \
     mount --bind $d/etc /etc/libvirt && \
     exec timeout -s KILL 7200 tini -s -- libvirtd -l -p $d/libvirtd.pid -f /etc/libvirt/libvirtd.conf'" \
    >"$d/libvirtd.log" 2>&1 &
  uri="qemu+tcp://$ip/system"
  pool_dir=$d/pool
  for _ in $(seq 240); do virsh -q -c "$uri" version >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "bench: libvirtd $i did not start"; cat "$d/libvirtd.log"; exit 1
}

if [ -z "$job" ]; then
  job=$work/nightly-reduced.yaml
  cat >"$job" <<EOF
name: nightly-reduced
kernels:
  - name: linux-6.1
    source: {tarball: /usr/src/linux-source-6.1.tar.xz}
    expect:  # 6.1: page cache pins memcgs (the cover letter), kernel stacks do not
      pagecache: [dying_after_loop >= 0.9 * iterations, dying_settled <= 0.1 * iterations]
arches: [x86_64, arm64]
workloads:
  - {id: kmem, workload: dying-cgroup, params: {iterations: 200, pin: kmem, cgroup: v1, settle_seconds: 2}}
  - {id: pagecache, workload: dying-cgroup, params: {iterations: 200, cgroup: v2, settle_seconds: 2}}
repeats: 2
timeouts: {boot: 120, workload: 900}
EOF
fi
# The job with hosts: appended (relative paths resolve from the copy's
# folder, so the copies sit beside the original).
copies=()
with_hosts() {  # with_hosts OUT HOST-LINES...
  local out=$1; shift
  copies+=("$out")
  grep -v '^\(hosts\|backend\|uri\):' "$job" >"$out"
  echo "hosts:" >>"$out"
  for h in "$@"; do echo "  - $h" >>"$out"; done
}
trap 'rm -f "${copies[@]}"; cleanup_hosts; cleanup' EXIT
wall() {  # wall JOB NAME
  local start end
  start=$(date +%s.%N)
  "$kh" run "$1" --quiet --no-history --out "$work/$2" >"$work/$2.log" 2>&1 || true
  end=$(date +%s.%N)
  [ -f "$work/$2/summary.json" ] || { echo "bench: $2: no results:" >&2; tail -5 "$work/$2.log" >&2; }
  echo "$end - $start" | bc
}
runs() { python3 -c 'import json,sys,collections; s=json.load(open(sys.argv[1])); print(len(s["runs"]), dict(collections.Counter(r["outcome"] for r in s["runs"])))' "$1"; }
hosts() { find "$1" -name result.json -exec grep -ho '"host": "[^"]*"' {} + | sort | uniq -c | tr '\n' ' '; }
base=$(dirname "$job")/.bench-$$

# Shared cores.
netns_libvirtd 1 ""
with_hosts "$base-one.yaml" "{uri: 'qemu:///system', slots: 2}"
with_hosts "$base-two.yaml" "{uri: 'qemu:///system', slots: 2}" "{uri: '$uri', slots: 2, pool_dir: '$pool_dir'}"
# Kernels first, so no figure pays for a build.
"$kh" run "$base-one.yaml" --quiet --no-history --out "$work/warm" >"$work/warm.log" 2>&1 || true
w1=$(wall "$base-one.yaml" one)
w2=$(wall "$base-two.yaml" two)
echo "job $(basename "$job") with a warm cache, libvirt backend:"
echo " shared cores (the system libvirtd + one in a namespace, all $(nproc) cores each):"
printf '  one host  (2 slots):          %7.1f s  runs %s\n' "$w1" "$(runs "$work/one/summary.json")"
printf '  two hosts (2 slots each):     %7.1f s  runs %s\n' "$w2" "$(runs "$work/two/summary.json")"
printf '  two hosts / one host: %.2f (more VMs at once, no more CPU)\n' "$(echo "$w2 / $w1" | bc -l)"
echo "  runs per host: $(hosts "$work/two")"

# Partitioned: half the cores per host.
ncpu=$(nproc)
half=$(( ncpu / 2 ))
netns_libvirtd 2 "0-$(( half - 1 ))"
uri_a=$uri pool_a=$pool_dir
netns_libvirtd 3 "$half-$(( ncpu - 1 ))"
uri_b=$uri pool_b=$pool_dir
with_hosts "$base-pone.yaml" "{uri: '$uri_a', slots: $half, pool_dir: '$pool_a'}"
with_hosts "$base-ptwo.yaml" "{uri: '$uri_a', slots: $half, pool_dir: '$pool_a'}" \
  "{uri: '$uri_b', slots: $half, pool_dir: '$pool_b'}"
p1=$(wall "$base-pone.yaml" pone)
p2=$(wall "$base-ptwo.yaml" ptwo)

echo " partitioned (two namespace libvirtds, $half of $ncpu cores and $half slot(s) each):"
printf '  one host:                     %7.1f s  runs %s\n' "$p1" "$(runs "$work/pone/summary.json")"
printf '  two hosts:                    %7.1f s  runs %s\n' "$p2" "$(runs "$work/ptwo/summary.json")"
printf '  two hosts / one host: %.2f (target <= 0.67)\n' "$(echo "$p2 / $p1" | bc -l)"
echo "  runs per host: $(hosts "$work/ptwo")"
