#!/usr/bin/env bash
# Installs everything kharness needs on Debian 12, from Debian's packages
# only: compilers and libraries to build it, QEMU for x86_64 and arm64,
# the kernel sources (linux-source-6.1 and -6.12), the arm64 cross compilers, and the
# guests' static busybox/bash .debs (amd64 and arm64) in kharness's cache.
#
# Idempotent: when everything is already here it checks and exits in about
# a second. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  # building kharness
  build-essential cmake ninja-build pkg-config git python3
  libyaml-cpp-dev libpugixml-dev libvirt-dev libboost-dev libboost-filesystem-dev
  libgtest-dev libgmock-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libarchive-dev libmuparser-dev libsqlite3-dev libssl-dev gnuplot-nox
  # building kernels
  linux-source-6.1 linux-source-6.12 bc bison flex libelf-dev cpio xz-utils kmod ccache dwarves
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
  # guests
  qemu-system-x86 qemu-system-arm qemu-utils e2fsprogs busybox-static bash-static
  # the libvirt backend (--backend libvirt, hosts:): the daemon and its QEMU
  # driver, virsh, virt-xml-validate (+ xmllint) for the domain XML tests
  libvirt-daemon libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  libxml2-utils iproute2
  # libvirtd's subreaper where there is no systemd (see start_libvirtd)
  tini
  # tests: the compare integration test screenshots compare.html headless
  chromium
)
# The guests' packages are the ones images/guest.yaml names, for each guest arch.
here=$(cd "$(dirname "$0")" && pwd)
GUEST_DEBS=()
for pkg in $(sed -n 's/^ *- package: *\([^ #]*\).*/\1/p' "$here/../images/guest.yaml"); do
  GUEST_DEBS+=("$pkg:amd64" "$pkg:arm64")
done

cache=${KHARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kharness}
debs="$cache/debs"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root (or install sudo)" >&2; exit 1; }
  SUDO=sudo
fi

missing_packages() {
  local p status
  for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || echo "$p"
  done
}

# A guest .deb counts as there only when its SHA-256 is in SHA256SUMS and
# matches (apt checked it against Debian's index when it was downloaded); a
# damaged or unlisted one is removed, to be fetched again.
missing_debs() {
  local spec pkg arch f ok
  for spec in "${GUEST_DEBS[@]}"; do
    pkg=${spec%%:*} arch=${spec##*:}
    ok=""
    for f in "$debs/${pkg}"_*_"${arch}".deb; do
      [ -e "$f" ] || continue
      if grep -q "  ${f##*/}\$" "$debs/SHA256SUMS" 2>/dev/null &&
         (cd "$debs" && grep "  ${f##*/}\$" SHA256SUMS | sha256sum -c --status); then
        ok=1
      else
        rm -f "$f"
      fi
    done
    [ -n "$ok" ] || echo "$spec"
  done
}

# Adds (or replaces) the lines of the given .debs in SHA256SUMS.
record_deb_sums() {
  local f name
  for f in "$@"; do
    name=${f##*/}
    { grep -v "  ${name}\$" "$debs/SHA256SUMS" 2>/dev/null || true; } > "$debs/SHA256SUMS.new"
    (cd "$debs" && sha256sum "$name") >> "$debs/SHA256SUMS.new"
    mv "$debs/SHA256SUMS.new" "$debs/SHA256SUMS"
  done
}

# The libvirt backend talks to the local libvirtd (qemu:///system). Under
# systemd the package starts it; without systemd (a container, a microVM)
# this starts virtlogd as a daemon and libvirtd under `tini -s`, a
# subreaper. libvirt double-forks QEMU, so a QEMU that exits is an orphan,
# and libvirt tears its domain down only once kill(pid, 0) fails, which a
# zombie does not: an init that reaps orphans now and then (this project's
# CI machines reap every 2 s) adds that much to every domain's teardown.
# tini reaps them at once. Running it again is a no-op. (`setup.sh
# --libvirtd` does only this; the integration tests use it.)
# libvirt runs its QEMUs as an unprivileged user (qemu.conf's `user`;
# Debian's libvirt-qemu, in group kvm) and, at every domain start, checks
# whether that user can open /dev/kvm. When the capabilities it probed say
# KVM but that user cannot open the node, it re-probes QEMU about 14 times
# per start (~10 s instead of ~0.5 s), even for a TCG domain. udev hands
# /dev/kvm to group kvm with mode 0660; where no udev runs (containers,
# these CI machines) the node stays root-only (0600). Do what udev would.
# A missing /dev/kvm needs nothing: libvirt never saw KVM then.
give_kvm_to_libvirt() {
  [ -c /dev/kvm ] || return 0
  getent group kvm >/dev/null || return 0
  local user
  user=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
    /etc/libvirt/qemu.conf 2>/dev/null | tail -n 1)
  user=${user:-libvirt-qemu}
  if id "$user" >/dev/null 2>&1 && ! id -nG "$user" | tr ' ' '\n' | grep -qx kvm; then
    $SUDO usermod -a -G kvm "$user"
    echo "setup.sh: added $user (libvirt's QEMU user) to group kvm"
  fi
  if [ "$(stat -c %G /dev/kvm)" != kvm ] || [ $((0$(stat -c %a /dev/kvm) & 060)) -ne $((060)) ]; then
    $SUDO chgrp kvm /dev/kvm
    $SUDO chmod g+rw /dev/kvm
    echo "setup.sh: /dev/kvm handed to group kvm, mode $(stat -c %a /dev/kvm) (as udev does)"
  fi
}

start_libvirtd() {
  command -v libvirtd >/dev/null || return 0
  give_kvm_to_libvirt
  if virsh -q -c qemu:///system version >/dev/null 2>&1; then return 0; fi
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl start virtlogd libvirtd || true
  else
    pgrep -x virtlogd >/dev/null || $SUDO virtlogd -d
    if ! pgrep -x libvirtd >/dev/null; then
      $SUDO mkdir -p /var/log/libvirt
      $SUDO setsid -f tini -s -- libvirtd </dev/null >>/var/log/libvirt/libvirtd.stderr 2>&1
    fi
  fi
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    virsh -q -c qemu:///system version >/dev/null 2>&1 && { echo "setup.sh: libvirtd is running"; return 0; }
    sleep 0.5
  done
  echo "setup.sh: libvirtd did not start (the libvirt backend will not work; qemu does)" >&2
}

if [ "${1:-}" = --libvirtd ]; then
  start_libvirtd
  exit 0
fi

need_pkgs=$(missing_packages)
need_debs=$(missing_debs)
need_arch=""
dpkg --print-foreign-architectures | grep -qx arm64 || need_arch=arm64

if [ -z "$need_pkgs" ] && [ -z "$need_debs" ] && [ -z "$need_arch" ]; then
  start_libvirtd
  echo "setup.sh: everything is installed (guest packages in $debs)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ -n "$need_arch" ]; then
  echo "setup.sh: adding the arm64 architecture (for the arm64 guests' busybox/bash)"
  $SUDO dpkg --add-architecture arm64
fi
echo "setup.sh: apt-get update"
$SUDO apt-get update -q >/dev/null
if [ -n "$need_pkgs" ]; then
  echo "setup.sh: installing" $need_pkgs
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $need_pkgs
fi
if [ -n "$need_debs" ]; then
  mkdir -p "$debs"
  echo "setup.sh: fetching guest packages into $debs:" $need_debs
  # apt's sandbox user cannot write to root's cache; download unsandboxed.
  # shellcheck disable=SC2086
  (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root $need_debs)
  for spec in $need_debs; do
    record_deb_sums "$debs/${spec%%:*}"_*_"${spec##*:}".deb
  done
fi
still=$(missing_packages; missing_debs)
if [ -n "$still" ]; then
  echo "setup.sh: still missing after install:" $still >&2
  exit 1
fi
start_libvirtd
echo "setup.sh: done"
