# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/vm/nested.sh - sourced by the slow-tier tests that run unmodified
# QEMU inside the test VM and boot a nested guest on one of our devices
# (vdpa_generic/qemu_mig.sh, vdpa_fusiond/qemu_guest.sh).
#
# The nested guest runs the test VM's own kernel from /boot with a small
# initramfs: the static busybox, the modules named by the test (and what
# they depend on, in insmod order), and an /init that mounts proc, sysfs and
# devtmpfs, loads the modules, runs the test's script and powers off. The
# script talks to the test through the serial console: lines it prints that
# start with "GUEST" are the results.

# nested_initramfs WORK MODULE... - build WORK/guest.cpio.gz; the guest's
# script is read from stdin (busybox sh).
nested_initramfs() {
	local work=$1 root=$1/root
	shift
	mkdir -p "$root/bin" "$root/mods" "$root/proc" "$root/sys" "$root/dev" \
		"$root/tmp" "$root/mnt"
	cp /bin/busybox "$root/bin/"
	: >"$root/mods/order"
	for m in "$@"; do
		modprobe --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		cp "$ko" "$root/mods/"
		basename "$ko" >>"$root/mods/order"
	done
	{
		cat <<'PROLOGUE'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
sleep 1
PROLOGUE
		cat
		echo 'poweroff -f'
	} >"$root/init"
	chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/guest.cpio.gz"
}

# nested_boot WORK TIMEOUT QEMU_ARG... - boot the guest of nested_initramfs
# with TCG (256 MiB, one vCPU); its console goes to WORK/console.log and,
# without carriage returns, to WORK/console.txt; QEMU's stderr to
# WORK/qemu.err. Returns QEMU's exit status (124: TIMEOUT seconds passed).
nested_boot() {
	local work=$1 limit=$2 rc
	shift 2
	timeout "$limit" qemu-system-x86_64 -accel tcg -m 256 -smp 1 \
		-display none -monitor none -no-reboot \
		-serial "file:$work/console.log" \
		-kernel "/boot/vmlinuz-$(uname -r)" -initrd "$work/guest.cpio.gz" \
		-append "console=ttyS0 panic=-1" "$@" 2>"$work/qemu.err"
	rc=$?
	tr -d '\r' <"$work/console.log" >"$work/console.txt"
	return $rc
}
