#!/bin/bash
# Makes (once) the git repository the bisect test and benchmark work on:
# Debian's 6.1 tarball as one commit (tag `base`), then every patch of
# kernel-patches/selftest-bisect as a commit (`git am`, tag `top`). Cached
# under $KHARNESS_CACHE/test-repos/bisect-<key>/linux, keyed by the tarball
# and the fixture's bytes; made in a temporary folder and renamed when whole.
# Prints the repository's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
tarball=${KHARNESS_BISECT_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
fixture=$root/kernel-patches/selftest-bisect
cache=${KHARNESS_CACHE:-$HOME/.cache/kharness}
key=$( { echo "$tarball $(stat -c %s "$tarball")"; cat "$0" "$fixture"/series "$fixture"/*.patch; } |
       sha256sum | cut -c1-16)
dir=$cache/test-repos/bisect-$key
if [ -e "$dir/complete" ]; then echo "$dir/linux"; exit 0; fi
# Fixed identity and dates: the same fixture gives the same commits.
export GIT_AUTHOR_NAME="kharness fixture" GIT_AUTHOR_EMAIL=kharness@localhost
export GIT_COMMITTER_NAME="kharness fixture" GIT_COMMITTER_EMAIL=kharness@localhost
export GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z
rm -rf "$dir/linux.tmp"
mkdir -p "$dir/linux.tmp"
cd "$dir/linux.tmp"
tar -xf "$tarball" --strip-components=1
git init -q
# Objects stored, not deflated: adding 1.2 GB of sources is then I/O, not zlib.
git config core.compression 0
git add -A -f   # Debian's .gitignore ignores everything at the top (/*)
git commit -qm "Linux 6.1 (Debian linux-source-6.1)"
git tag base
grep -v '^#' "$fixture/series" | while read -r patch _; do
  [ -n "$patch" ] && git am -q --committer-date-is-author-date "$fixture/$patch"
done
git tag top
cd "$dir"
rm -rf linux
mv linux.tmp linux
touch complete
echo "$dir/linux"
