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
#
# Usage, from the repository root after the build:
#   harness/bench.sh [--skip-cold] [--arch x86_64|arm64]...
set -euo pipefail
cd "$(dirname "$0")/.."
kh=$PWD/build/kharness
[ -x "$kh" ] || { echo "bench: build kharness first (cmake --build --preset default)" >&2; exit 2; }

skip_cold=0
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-cold) skip_cold=1 ;;
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
