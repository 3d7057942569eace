#!/bin/bash
# scripts/vm/initramfs.sh [--builtin] - build (or reuse) the test VM's
# initramfs for $KVER: busybox-static, the 9p/virtio/overlay modules with
# modules.dep, and scripts/vm/init. Prints the path of
# build/vm/initramfs-$KVER.cpio.gz.
# --builtin: for a kernel that has all of these built in (the debug tier's,
# scripts/debugkernel/): no modules; prints build/vm/initramfs-builtin.cpio.gz.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" = --builtin ]; then
	KVER=builtin
	MODS=""
else
	KVER=$("$ROOT/scripts/kver.sh")
	MODS="virtio_pci 9pnet_virtio 9p overlay"
fi
OUT=$ROOT/build/vm/initramfs-$KVER.cpio.gz

mkdir -p "$ROOT/build/vm"
exec 9>"$ROOT/build/vm/.initramfs.lock"
flock 9

# Reuse unless an input is newer than the image.
fresh=1
deps="$0 $ROOT/scripts/vm/init /bin/busybox"
[ -z "$MODS" ] || deps="$deps /lib/modules/$KVER/modules.dep"
for f in $deps; do
	[ -f "$OUT" ] && [ "$OUT" -nt "$f" ] || fresh=0
done
if [ $fresh -eq 1 ]; then
	echo "$OUT"
	exit 0
fi

stage=$(mktemp -d "$ROOT/build/vm/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,mnt/lower,mnt/rw,mnt/root}
cp /bin/busybox "$stage/bin/busybox"
cp "$ROOT/scripts/vm/init" "$stage/init"
chmod 755 "$stage/init"

if [ -n "$MODS" ]; then
	mkdir -p "$stage/lib/modules/$KVER"
	for m in $MODS; do
		modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | sort -u | while read -r ko; do
		dst=$stage${ko}
		mkdir -p "$(dirname "$dst")"
		cp "$ko" "$dst"
	done
	cp /lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$KVER/" 2>/dev/null || true
	depmod -b "$stage" "$KVER"
fi

(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -9 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
