#!/bin/bash
# scripts/vm/run.sh - run one command inside a throw-away QEMU VM that sees the
# host's root filesystem (read-only, tmpfs overlay) and the target kernel.
#
# usage: run.sh [--qemu-args "..."] [--qmp PATH] [--timeout SEC]
#               [--boot-timeout SEC] [--mem MB]
#               [--console FILE] [--result FILE] [--live] [--guest-qmp]
#               [--kernel BZIMAGE] -- COMMAND...
#
# ttyS0 (kernel console) goes to --console (default: a temporary file, kept
# and named on stderr only if the VM fails).
# ttyS1 is the result channel: COMMAND's stdout+stderr, written to --result;
# without --result it is printed here when the VM is done. --live prints it
# here as it comes, in both cases.
# --qmp PATH: QMP unix socket for the host. --guest-qmp: QMP for the guest itself,
# through the virtio-serial port "qmp" (see scripts/vm/qmp.py), so in-VM tests
# can e.g. device_del their own cards.
# Exit status: COMMAND's, 125 if the VM crashed, hung or timed out, or 126
# if it never reached COMMAND within --boot-timeout seconds (env
# VM_BOOT_TIMEOUT, default 240; 0: no limit): under TCG a guest now and
# then spins forever early in boot, and a caller may then simply retry.
# --qemu-args is split on white space (no quoting). The guest starts COMMAND in
# the current directory (same path; /tmp is the guest's own, empty tmpfs).
# --kernel BZIMAGE (or env VM_KERNEL) boots that kernel instead of Debian's
# /boot/vmlinuz-$KVER; it must have virtio-pci/9p/overlay built in (the debug
# tier's kernel, scripts/debugkernel/), so the initramfs carries no modules.
# Env: VM_KVM=1 uses KVM instead of TCG; KVER picks the Debian kernel;
# VM_APPEND adds kernel command-line parameters.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KVER=$("$ROOT/scripts/kver.sh")
qemu_args="" qmp="" guest_qmp=0 timeout=600 mem=2048 live=0
boot_timeout=${VM_BOOT_TIMEOUT:-240}
console="" result="" kernel=${VM_KERNEL:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--qemu-args) qemu_args="$qemu_args $2"; shift 2 ;;
	--qmp) qmp=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--boot-timeout) boot_timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--console) console=$2; shift 2 ;;
	--result) result=$2; shift 2 ;;
	--live) live=1; shift ;;
	--guest-qmp) guest_qmp=1; shift ;;
	--kernel) kernel=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: run.sh [options] -- COMMAND..." >&2; exit 2; }
# The guest mounts its own tmpfs on /tmp: a checkout there is invisible to it.
case "$ROOT/" in
/tmp/*)
	echo "run.sh: the checkout ($ROOT) is under /tmp, which the VM does not share; clone it elsewhere" >&2
	exit 2 ;;
esac

if [ -n "$kernel" ]; then
	[ -f "$kernel" ] || { echo "run.sh: no kernel $kernel" >&2; exit 2; }
	initrd=$("$ROOT/scripts/vm/initramfs.sh" --builtin)
else
	kernel=/boot/vmlinuz-$KVER
	initrd=$("$ROOT/scripts/vm/initramfs.sh")
fi
# The command file must live where the guest can see it: not in /tmp.
mkdir -p "$ROOT/build/vm"
cmdfile=$(mktemp "$ROOT/build/vm/cmd.XXXXXX")
own_result=0 own_console=0
if [ -z "$console" ]; then
	console=$cmdfile.console
	own_console=1
fi
if [ -z "$result" ]; then
	result=$(mktemp "$ROOT/build/vm/result.XXXXXX")
	own_result=1
fi
gsock=$cmdfile.qmp
trap 'rm -f "$cmdfile" "$gsock" "$cmdfile.boothang"; [ $own_result -eq 0 ] || rm -f "$result"' EXIT
printf 'exec' >"$cmdfile"
printf ' %q' "$@" >>"$cmdfile"
echo >>"$cmdfile"
: >"$console"
: >"$result"

accel="-accel tcg"
[ "${VM_KVM:-0}" = 1 ] && accel="-accel kvm -cpu host"
qmp_opt=""
[ -n "$qmp" ] && qmp_opt="-qmp unix:$qmp,server=on,wait=off"
if [ $guest_qmp -eq 1 ]; then
	# A monitor listening on $gsock, and a guest serial port that QEMU itself
	# connects to that socket.
	qmp_opt="$qmp_opt -chardev socket,id=gqmp_srv,path=$gsock,server=on,wait=off"
	qmp_opt="$qmp_opt -mon chardev=gqmp_srv,mode=control"
	qmp_opt="$qmp_opt -chardev socket,id=gqmp_cli,path=$gsock"
	qmp_opt="$qmp_opt -device virtio-serial-pci,id=gqmp_ser"
	qmp_opt="$qmp_opt -device virtserialport,bus=gqmp_ser.0,chardev=gqmp_cli,name=qmp"
fi

append="console=ttyS0,115200 loglevel=6 panic=-1 mitigations=off${VM_APPEND:+ $VM_APPEND}"
append="$append vm.stage2=$ROOT/scripts/vm/stage2.sh vm.cmd=$cmdfile vm.cwd=$PWD"

tailpid=""
if [ $live -eq 1 ]; then
	# --pid: tail also ends by itself should this script die.
	tail -n +1 -s 0.2 --pid=$$ -f "$result" > >(sed -u 's/\r$//') &
	tailpid=$!
fi

# The host-side watchdog is timeout(1); -no-reboot turns a guest panic into exit.
# timeout(1) runs in its own process group, so pass our own death on to it.
# shellcheck disable=SC2086
timeout -k 10 "$timeout" qemu-system-x86_64 -nodefaults -no-user-config \
	-machine q35 $accel -smp 2 -m "$mem" -display none -vga none -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-serial "file:$console" -serial "file:$result" \
	$qmp_opt $qemu_args </dev/null &
qemu_pid=$!
trap 'kill "$qemu_pid" 2>/dev/null; exit 130' INT TERM HUP
# Boot watchdog: stage2.sh logs "vm: running" to the console when it starts
# COMMAND; a guest that has not got there in time is stopped.
dogpid=""
if [ "$boot_timeout" -gt 0 ]; then
	(
		t=0
		while kill -0 "$qemu_pid" 2>/dev/null; do
			grep -q "vm: running" "$console" && exit 0
			if [ $t -ge "$boot_timeout" ]; then
				: >"$cmdfile.boothang"
				kill "$qemu_pid" 2>/dev/null
				exit 0
			fi
			sleep 1
			t=$((t + 1))
		done
	) &
	dogpid=$!
fi
wait "$qemu_pid" || true
trap - INT TERM HUP
if [ -n "$dogpid" ]; then
	kill "$dogpid" 2>/dev/null || true
	wait "$dogpid" 2>/dev/null || true
fi
if [ -e "$cmdfile.boothang" ]; then
	echo "run.sh: the guest did not reach the command in ${boot_timeout}s (boot hung); console: $console" >&2
	exit 126
fi

if [ -n "$tailpid" ]; then
	sleep 0.5	# let tail print the last lines
	kill "$tailpid" 2>/dev/null || true
	wait "$tailpid" 2>/dev/null || true
elif [ $own_result -eq 1 ]; then
	tr -d '\r' <"$result"
fi

rc=$(sed -n 's/.*VM-EXIT-CODE: \([0-9]*\).*/\1/p' "$console" | tail -n1)
if [ -z "$rc" ]; then
	echo "run.sh: VM did not finish (crash, hang or timeout); console: $console" >&2
	exit 125
fi
[ $own_console -eq 0 ] || rm -f "$console"
exit "$rc"
