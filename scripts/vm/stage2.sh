#!/bin/busybox sh
# shellcheck shell=dash
# scripts/vm/stage2.sh - PID 1 of the test VM after switch_root (see init, which
# already mounted everything). Runs the command file named by vm.cmd= in the
# directory vm.cwd= with stdout/stderr on the result channel (/dev/ttyS1),
# reports its exit status on the console ("VM-EXIT-CODE: N") and powers off.
# Runs under the host's static busybox: cheap to start under TCG.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

cmd='' cwd=/
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case "$arg" in
	vm.cmd=*) cmd=${arg#vm.cmd=} ;;
	vm.cwd=*) cwd=${arg#vm.cwd=} ;;
	esac
done

echo "vm: running $cmd" >/dev/kmsg
rc=127
if [ -r "$cmd" ]; then
	# The host's /tmp is hidden by the guest's: fall back to / if cwd is there.
	(cd "$cwd" 2>/dev/null || cd /; exec bash "$cmd") </dev/null >/dev/ttyS1 2>&1
	rc=$?
else
	echo "stage2: command file '$cmd' not readable" >/dev/ttyS1
fi
echo "VM-EXIT-CODE: $rc" >/dev/console
/bin/busybox poweroff -f
