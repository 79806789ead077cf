#!/usr/bin/env bash
# Measures kharness's speed and memory targets and prints the figures.
#
#   per arch (x86_64, arm64):
#     cold minimal kernel build, empty cache and ccache   x86_64 <= 180 s, arm64 <= 240 s
#     second build with nothing changed                   "cached", no make
#     boot to agent ready                                 x86_64 <= 3 s (TCG), arm64 <= 15 s (TCG)
#     2000 dying-cgroup iterations in the guest           x86_64 <= 10 s
#   x86_64 only:
#     a one-patch series built after the base (ccache shared across trees)
#     what kharness adds beside builds and guests         <= 2 s
#     kharness peak RSS                                   <= 100 MB
#   the default job (both arches) with a warm cache       <= 120 s wall
#   the console parser on a 10 MB log                     <= 200 ms
# and first, side by side in one run (medians of --repeats, interleaved so
# a busy host weighs on each alike):
#   the bare-QEMU floor: the same 6.1 x86_64 bzImage into a busybox
#     initramfs that powers off at once (plain -machine pc, SeaBIOS)
#   a one-iteration dying-cgroup verdict (kharness run), wall   <= 1.25 x floor
#   kharness exec -- true, wall
#   boot to agent ready per arch (result.json timings.boot)    x86_64 <= 0.7 s (TCG)
#
# Usage, from the repository root after the build:
#   harness/bench.sh [--floor-only] [--repeats N] [--skip-cold] [--arch x86_64|arm64]...
#   --floor-only: only the side-by-side table
set -euo pipefail
cd "$(dirname "$0")/.."
kh=$PWD/build/kharness
[ -x "$kh" ] || { echo "bench: build kharness first (cmake --build --preset default)" >&2; exit 2; }

skip_cold=0
floor_only=0
repeats=5
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-cold) skip_cold=1 ;;
    --floor-only) floor_only=1 ;;
    --repeats) repeats=$2; shift ;;
    --arch) arches+=("$2"); shift ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#arches[@]} -gt 0 ] || arches=(x86_64 arm64)

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
work=$(mktemp -d /var/tmp/kharness-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# "wall cpu" of a command: seconds, and the user + system CPU seconds of it
# and its children (QEMU's TCG is CPU-bound: on a busy shared host the CPU
# figure moves far less than the wall).
wall() {
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >/dev/null 2>&1 || true
  # The last line: /usr/bin/time puts "Command exited with non-zero status N" first.
  tail -1 "$work/time" | awk '{printf "%s %.2f\n", $1, $2 + $3}'
}
col() { awk -v c="$1" '{print $c}' "$2" | median; }

echo "== side by side: the bare-QEMU floor, a one-iteration verdict, kharness exec ($repeats each, interleaved)"
echo "load before: $(uptime | sed 's/.*load average: //') (2-core host shared with other work: figures scale with it)"
bz=$("$kh" build --arch x86_64 2>/dev/null | awk '$3 == "cached" || $3 == "built" {print $4; exit}')
[ -f "$bz" ] || { echo "bench: no x86_64 kernel from kharness build" >&2; exit 1; }
# The floor's guest: static busybox and an /init that powers off at once.
mkdir -p "$work/floor/bin"
dpkg-deb --fsys-tarfile ~/.cache/kharness/debs/busybox-static_*_amd64.deb | tar -x -C "$work/floor" ./bin/busybox
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' >"$work/floor/init" && chmod +x "$work/floor/init"
(cd "$work/floor" && find . | cpio -o -H newc --quiet >"$work/floor.cpio")
cat >"$work/floor.sh" <<EOF
#!/bin/sh
exec qemu-system-x86_64 -machine pc -accel tcg,thread=multi -cpu max -smp 2 -m 512 -nodefaults \\
  -no-user-config -display none -no-reboot -kernel "$bz" -initrd "$work/floor.cpio" \\
  -append 'console=ttyS0 panic=-1 rdinit=/init no_timer_check' -serial "file:$work/floor.log"
EOF
chmod +x "$work/floor.sh"
: >"$work/floor.s"; : >"$work/verdict.s"; : >"$work/exec.s"; : >"$work/boot-x86_64.s"
for i in $(seq "$repeats"); do
  wall "$work/floor.sh" >>"$work/floor.s"
  wall "$kh" run --arch x86_64 --workload dying-cgroup --set dying-cgroup.iterations=1 \
    --out "$work/verdict-$i" >>"$work/verdict.s"
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['timings']['boot'])" \
    "$work/verdict-$i/linux-6.1/x86_64/dying-cgroup/result.json" >>"$work/boot-x86_64.s" 2>/dev/null || true
  wall "$kh" exec --arch x86_64 -- true >>"$work/exec.s"
done
f=$(col 1 "$work/floor.s"); v=$(col 1 "$work/verdict.s"); e=$(col 1 "$work/exec.s")
fc=$(col 2 "$work/floor.s"); vc=$(col 2 "$work/verdict.s"); ec=$(col 2 "$work/exec.s")
printf '%-46s %6s %6s %12s\n' "" "wall" "CPU" "x floor"
printf '%-46s %6.2f %6.2f\n' "bare-QEMU floor (pc, SeaBIOS, busybox poweroff)" "$f" "$fc"
printf '%-46s %6.2f %6.2f %5.2f / %4.2f  (target <= 1.25)\n' "one-iteration verdict (kharness run)" "$v" "$vc" \
  "$(echo "$v / $f" | bc -l)" "$(echo "$vc / $fc" | bc -l)"
printf '%-46s %6.2f %6.2f %5.2f / %4.2f\n' "kharness exec -- true" "$e" "$ec" \
  "$(echo "$e / $f" | bc -l)" "$(echo "$ec / $fc" | bc -l)"
printf 'boot to agent, x86_64 (TCG): %5.2f s (target <= 0.7)\n' "$(median <"$work/boot-x86_64.s")"
: >"$work/boot-arm64.s"
for i in $(seq "$repeats"); do
  "$kh" run --arch arm64 --workload dying-cgroup --set dying-cgroup.iterations=1 \
    --out "$work/arm-$i" >/dev/null 2>&1 || true
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['timings']['boot'])" \
    "$work/arm-$i/linux-6.1/arm64/dying-cgroup/result.json" >>"$work/boot-arm64.s" 2>/dev/null || true
done
printf 'boot to agent, arm64 (TCG):  %5.2f s\n' "$(median <"$work/boot-arm64.s")"
echo "load after: $(uptime | sed 's/.*load average: //')"
[ $floor_only = 1 ] && exit 0

for arch in "${arches[@]}"; do
  echo "== $arch"
  if [ $skip_cold = 0 ]; then
    cold=$work/cache-$arch
    mkdir -p "$cold/debs" && cp ~/.cache/kharness/debs/*.deb "$cold/debs/"
    t=$(now)
    KHARNESS_CACHE=$cold CCACHE_DIR=$cold/ccache "$kh" build --arch "$arch" >/dev/null 2>"$work/build.err" ||
      { tail -3 "$work/build.err"; exit 1; }
    printf 'cold build (extract + config + make):      %6.1f s\n' "$(since "$t")"
    t=$(now)
    second=$(KHARNESS_CACHE=$cold "$kh" build --arch "$arch" 2>/dev/null)
    printf 'second build, nothing changed:             %6.2f s (%s)\n' "$(since "$t")" "$(echo "$second" | awk '{print $3}')"
    if [ "$arch" = x86_64 ]; then
      t=$(now)
      KHARNESS_CACHE=$cold CCACHE_DIR=$cold/ccache "$kh" build configs/jobs/series.yaml --kernel patched >/dev/null 2>&1
      printf 'one-patch series after it (shared ccache): %6.1f s\n' "$(since "$t")"
    fi
  fi
  out=$work/run-$arch
  "$kh" run --arch "$arch" --workload dying-cgroup --set dying-cgroup.iterations=2000 --out "$out" \
    >"$work/stdout" 2>"$work/stderr" || true
  python3 - "$out/linux-6.1/$arch/dying-cgroup/result.json" "$work/stderr" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
t, m = r["timings"], r["metrics"]
print(f"boot to agent ready ({r['accel']}):              {t['boot']:6.2f} s")
print(f"2000 iterations in the guest:              {m['loop_seconds']:6.2f} s  (dying after the loop: {m['dying_after_loop']:.0f})")
line = [l for l in open(sys.argv[2]) if l.startswith("kharness: wall")]
if line:
    f = dict(re.findall(r"(\w[\w ]*?) ([\d.]+) (?:s|MB)", line[-1]))
    print(f"kharness overhead beside the guests:       {float(f['overhead']):6.2f} s")
    print(f"kharness peak RSS:                         {float(f['peak RSS']):6.1f} MB")
PY
done

echo "== default job, warm cache"
t=$(now)
"$kh" run --out "$work/default" >/dev/null 2>&1 || true
printf 'kharness run (default job) wall:           %6.1f s  (%s)\n' "$(since "$t")" \
  "$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(', '.join(f\"{r['arch']}/{r['workload']}={r['outcome']}\" for r in s['runs']))" "$work/default/summary.json")"

echo "== console parser"
bench=$PWD/build/harness/kharness_console_bench
if [ -x "$bench" ]; then
  "$bench" --mb 10   # target: 10 MB in <= 200 ms
else
  echo "console parser: build kharness_console_bench first"
fi
