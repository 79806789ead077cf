#!/usr/bin/env bash
# Issue 4's targets for the workloads: each finishes in <= 3 min under TCG
# with its default parameters, and its metrics repeat within 20% run to run.
# Runs a job (default: configs/jobs/workloads-bench.yaml, every shipped
# workload with its defaults on x86_64) with 5 repeats, one VM at a time so
# runs do not slow each other, and prints per job entry: min / median / max
# of the workload's time in the guest, and of its key metric and any metric
# named with --metric, with the spread (max - min) / median.
#
# Usage, from the repository root after the build:
#   harness/bench-workloads.sh [--job FILE] [--repeats N] [--arch A] [--metric NAME]... [--results DIR]
# --results DIR summarises a folder an earlier run left, without running.
set -euo pipefail
cd "$(dirname "$0")/.."
kh=$PWD/build/kharness
job=configs/jobs/workloads-bench.yaml
repeats=5
arch=x86_64
results=""
metrics=()
while [ $# -gt 0 ]; do
  case "$1" in
    --job) job=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --arch) arch=$2; shift ;;
    --metric) metrics+=("$2"); shift ;;
    --results) results=$2; shift ;;
    *) echo "bench-workloads: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$results" ]; then
  [ -x "$kh" ] || { echo "bench-workloads: build kharness first" >&2; exit 2; }
  results=$(mktemp -d /var/tmp/kharness-bench-workloads-XXXXXX)
  # The job's own repeats are replaced: a copy with repeats: N.
  sed -E "s/^repeats:.*//" "$job" > "$results/job.yaml"
  echo "repeats: $repeats" >> "$results/job.yaml"
  # Relative paths in the job (scripts, series) resolve beside the original.
  cp "$results/job.yaml" "$(dirname "$job")/.bench-$$.yaml"
  trap 'rm -f "$(dirname "$job")/.bench-$$.yaml"' EXIT
  "$kh" run "$(dirname "$job")/.bench-$$.yaml" --arch "$arch" --jobs 1 --quiet \
    --out "$results/out" || true  # a failing assertion is a figure too
  results=$results/out
fi

python3 - "$results/summary.json" "${metrics[@]}" <<'PY'
import json, statistics, sys
summary = json.load(open(sys.argv[1]))
extra = sys.argv[2:]
by_id = {}
for run in summary["runs"]:
    by_id.setdefault((run["kernel"], run["arch"], run["workload"]), []).append(run)
def row(name, values, limit=None):
    values = [v for v in values if v is not None]
    if not values:
        print(f"  {name:34} (none)")
        return
    lo, med, hi = min(values), statistics.median(values), max(values)
    spread = (hi - lo) / med * 100 if med else 0.0
    flag = ""
    if limit is not None:
        flag = "  ok" if hi <= limit else f"  OVER {limit:g}"
    else:
        flag = "  ok" if spread <= 20 else "  spread > 20%"
    print(f"  {name:34} min {lo:10.3f}  median {med:10.3f}  max {hi:10.3f}  spread {spread:5.1f}%{flag}")
for (kernel, arch, wid), runs in sorted(by_id.items()):
    outcomes = ", ".join(sorted({r["outcome"] for r in runs}))
    print(f"{kernel} {arch} {wid}: {len(runs)} runs ({outcomes})")
    row("guest time, s (<= 180)", [r.get("timings", {}).get("vm_total") for r in runs], 180)
    names = []
    key = runs[0].get("key_metric") or ""
    if key: names.append(key)
    names += [m for m in extra if m not in names]
    for name in names:
        row(name, [r.get("metrics", {}).get(name) for r in runs])
PY
