#!/bin/bash
# scripts/ksrc.sh - extract the few kernel source paths we need (vDPA/vhost/virtio
# sources for the compat modules, kselftest headers, checkpatch, coccinelle)
# from the Debian linux-source tarball into build/ksrc/.
#
# Cached: re-extracts only when the tarball's mtime/size differ from the stamp.
# Prints the extracted tree's path (build/ksrc/linux-source-X) on stdout.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/ksrc
TARBALL=${KSRC_TARBALL:-$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)}
[ -f "$TARBALL" ] || { echo "ksrc: no /usr/src/linux-source-*.tar.xz (run scripts/deps.sh)" >&2; exit 1; }
TOP=$(basename "$TARBALL" .tar.xz)
STAMP=$OUT/.stamp
want="$TARBALL $(stat -c '%Y %s' "$TARBALL")"

mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.ksrc.lock"
flock 9

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -d "$OUT/$TOP" ]; then
	echo "$OUT/$TOP"
	exit 0
fi

paths="drivers/vdpa drivers/vhost drivers/virtio samples/vfio-mdev
       tools/testing/selftests/kselftest_harness.h
       tools/testing/selftests/kselftest.h
       scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch
       scripts/coccinelle scripts/coccicheck
       include/uapi/linux/vhost*.h
       include/linux/vdpa.h include/linux/vringh.h include/linux/vhost_iotlb.h"
members=""
for p in $paths; do members="$members $TOP/$p"; done

echo "ksrc: extracting from $TARBALL" >&2
rm -rf "$OUT"
mkdir -p "$OUT"
# shellcheck disable=SC2086
tar -xJf "$TARBALL" -C "$OUT" --wildcards $members
echo "$want" > "$STAMP"
echo "$OUT/$TOP"
