#!/usr/bin/env bash
# Records the real golden logs of this folder (lkdtm_*.log): runs
# configs/jobs/console-goldens.yaml (one debug + LKDTM + kernel-patches/selftest
# kernel per arch, one boot per report class; every run is expected to fail)
# and console-goldens-kasan.yaml (KASAN, x86_64), and copies each run's
# console.log here as lkdtm_<id>_<arch>.log. Then
# records an unexpected reboot: the x86_64 PANIC run replayed with panic=1
# and without -no-reboot, so the guest boots twice.
#
# It also writes lkdtm_<id>_<arch>.expected from what the parser finds in
# it now (kind|title|corrupted, build/harness/kharness_console_bench
# --findings). Those are a draft: read every changed .expected against its
# .log (git diff) before committing.
#
# Usage, from the repository root after the build:
#   harness/tests/data/console/regenerate.sh [--out DIR] [--arch A]
set -euo pipefail
cd "$(dirname "$0")/../../../.."
here=harness/tests/data/console
out=/var/tmp/kharness-console-goldens
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift ;;
    --arch) args+=(--arch "$2"); shift ;;
    *) echo "regenerate: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

rm -rf "$out" "$out-kasan"
build/kharness run configs/jobs/console-goldens.yaml --out "$out" "${args[@]}" || true
build/kharness run configs/jobs/console-goldens-kasan.yaml --out "$out-kasan" "${args[@]}" || true

python3 - "$out" "$here" <<'PY'
import json, pathlib, shutil, subprocess, sys
out, here = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
runs = []
for folder in (out, pathlib.Path(str(out) + "-kasan")):
    if (folder / "summary.json").exists():
        runs += [(folder, r) for r in json.load(open(folder / "summary.json"))["runs"]]
for out, run in runs:
    d = out / run["run_dir"]
    if not (d / "console.log").exists():
        print(f"{run['run_dir']}: no console ({run['outcome']}: {run['reason']})")
        continue
    name = f"lkdtm_{run['workload'].replace('-', '_')}_{run['arch']}"
    shutil.copy(d / "console.log", here / f"{name}.log")
    expected = subprocess.run(["build/harness/kharness_console_bench", "--findings",
                               str(here / f"{name}.log")], check=True, capture_output=True, text=True)
    (here / f"{name}.expected").write_text(expected.stdout)
    print(f"{name}: {run['outcome']}: {run['reason']}")
PY

# An unexpected reboot: the PANIC run again, rebooting instead of stopping.
panic=$out/linux-6.1-selftest/x86_64/panic
if [ -f "$panic/reproduce.sh" ]; then
  rb=$out/reboot && mkdir -p "$rb" && cp "$panic/initramfs.cpio" "$rb/"
  argv=$(grep -m1 '^qemu-system' "$panic/reproduce.sh" | sed -e 's/^exec //' \
    -e 's/ -no-reboot//' -e 's/panic=-1/panic=1/')
  (cd "$rb" && timeout 60 sh -c "exec $argv" >/dev/null 2>&1 || true)
  cp "$rb/console.log" "$here/lkdtm_panic_reboot_x86_64.log"
  build/harness/kharness_console_bench --findings "$here/lkdtm_panic_reboot_x86_64.log" \
    >"$here/lkdtm_panic_reboot_x86_64.expected"
  echo "lkdtm_panic_reboot_x86_64: $(grep -c 'Linux version' "$here/lkdtm_panic_reboot_x86_64.log") boots"
fi
