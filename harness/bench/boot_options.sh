#!/usr/bin/env bash
# What each x86_64 boot option costs under TCG: the same bzImage into a
# busybox initramfs that powers off at once, per firmware, machine type and
# kernel command-line option, interleaved (a busy host weighs on each
# alike), medians of --repeats. Prints wall time (QEMU start to exit), the
# CPU time QEMU used (user + system: TCG is CPU-bound, so on a shared host
# this is the steadier figure) and the guest kernel's last timestamp (its
# own share). The README's "Benchmarks" table comes from here.
#
#   harness/bench/boot_options.sh [--repeats N] [--image BZIMAGE]
set -euo pipefail
cd "$(dirname "$0")/../.."
repeats=5
bz=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift ;;
    --image) bz=$2; shift ;;
    *) echo "boot_options: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$bz" ] || bz=$(build/kharness build --arch x86_64 2>/dev/null | awk '{print $4; exit}')
work=$(mktemp -d /var/tmp/kharness-bootopt-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/floor/bin"
dpkg-deb --fsys-tarfile ~/.cache/kharness/debs/busybox-static_*_amd64.deb | tar -x -C "$work/floor" ./bin/busybox
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' >"$work/floor/init" && chmod +x "$work/floor/init"
(cd "$work/floor" && find . | cpio -o -H newc --quiet >"$work/floor.cpio")

base='console=ttyS0 panic=-1 rdinit=/init no_timer_check printk.time=1'
tcg='noapictimer lpj=10000000'
truncate -s 64M "$work/disk.img"
# kharness's two virtio-pci devices (the records channel, the scratch disk):
# their interrupt routing is what acpi=noirq saves.
virtio="-device virtio-serial-pci -drive file=$work/disk.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0"
names=("pc, SeaBIOS (the floor)" "pc, qboot" "pc, SeaBIOS, $tcg" "pc, qboot, $tcg"
       "q35, SeaBIOS" "microvm, bios-microvm, tsc_early_khz lpj" "pc, qboot, $tcg, -smp 1"
       "pc, qboot, $tcg, 2 virtio-pci" "pc, qboot, $tcg, 2 virtio-pci, acpi=noirq (kharness)")
machine=("pc" "pc -bios qboot.rom" "pc" "pc -bios qboot.rom" "q35"
         "microvm,pit=on,pic=on,rtc=on -bios bios-microvm.bin" "pc -bios qboot.rom"
         "pc -bios qboot.rom" "pc -bios qboot.rom")
extra=("" "" "$tcg" "$tcg" "" "tsc_early_khz=2600000 lpj=10000000" "$tcg" "$tcg" "$tcg acpi=noirq")
devices=("" "" "" "" "" "" "" "$virtio" "$virtio")
smp=(2 2 2 2 2 2 1 2 2)
for i in "${!names[@]}"; do : >"$work/wall-$i"; : >"$work/kern-$i"; : >"$work/cpu-$i"; done
for r in $(seq "$repeats"); do
  for i in "${!names[@]}"; do
    : >"$work/console.log"
    t=$(date +%s.%N)
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S' -o "$work/time" timeout 60 qemu-system-x86_64 -machine ${machine[$i]} -accel tcg,thread=multi -cpu max \
      -smp "${smp[$i]}" -m 512 -nodefaults -no-user-config -display none -no-reboot -kernel "$bz" \
      -initrd "$work/floor.cpio" -append "$base ${extra[$i]}" -serial "file:$work/console.log" \
      ${devices[$i]} || true
    echo "$(date +%s.%N) - $t" | bc >>"$work/wall-$i"
    awk '{print $1 + $2}' "$work/time" >>"$work/cpu-$i"
    grep -o '^\[ *[0-9.]*\]' "$work/console.log" | tail -1 | tr -d '[] ' >>"$work/kern-$i"
  done
done
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo "load: $(uptime | sed 's/.*load average: //')"
printf '%-52s %8s %8s %12s\n' "x86_64 under TCG, busybox poweroff" "wall (s)" "CPU (s)" "kernel (s)"
for i in "${!names[@]}"; do
  printf '%-52s %8.2f %8.2f %12.2f\n' "${names[$i]}" "$(median <"$work/wall-$i")" \
    "$(median <"$work/cpu-$i")" "$(median <"$work/kern-$i")"
done
