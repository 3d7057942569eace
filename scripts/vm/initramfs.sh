#!/bin/bash
# scripts/vm/initramfs.sh - build (or reuse) the test VM's initramfs for $KVER:
# busybox-static, the 9p/virtio/overlay modules with modules.dep, and
# scripts/vm/init. Prints the path of build/vm/initramfs-$KVER.cpio.gz.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KVER=$("$ROOT/scripts/kver.sh")
OUT=$ROOT/build/vm/initramfs-$KVER.cpio.gz
MODS="virtio_pci 9pnet_virtio 9p overlay"

mkdir -p "$ROOT/build/vm"
exec 9>"$ROOT/build/vm/.initramfs.lock"
flock 9

# Reuse unless an input is newer than the image.
fresh=1
for f in "$0" "$ROOT/scripts/vm/init" /bin/busybox "/lib/modules/$KVER/modules.dep"; do
	[ -f "$OUT" ] && [ "$OUT" -nt "$f" ] || fresh=0
done
if [ $fresh -eq 1 ]; then
	echo "$OUT"
	exit 0
fi

stage=$(mktemp -d "$ROOT/build/vm/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,mnt/lower,mnt/rw,mnt/root,lib/modules/"$KVER"}
cp /bin/busybox "$stage/bin/busybox"
cp "$ROOT/scripts/vm/init" "$stage/init"
chmod 755 "$stage/init"

for m in $MODS; do
	modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r ko; do
	dst=$stage${ko}
	mkdir -p "$(dirname "$dst")"
	cp "$ko" "$dst"
done
cp /lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$stage" "$KVER"

(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -9 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
