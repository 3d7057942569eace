#!/bin/bash
# scripts/vm/ktest-runner.sh SUITE_DIR BUILD_DIR - run one selftest suite
# inside the test VM and print TAP 13 on stdout (the VM's result channel).
#
# SUITE_DIR/tests.list names the tests, one per line: an executable in
# BUILD_DIR (built C tests) or a script in SUITE_DIR, optionally followed by
# tags.  Tag "slow" marks a volume test (bulk traffic, file systems) whose
# kernel paths the other tests already cover: with VDPA_QUICK=1 (the debug
# tier of "make check") it is reported as skipped. Tag "no-lockdep" marks a
# test whose path makes lockdep report a lock order that is not ours (see
# the comment in that suite's tests.list): on a kernel with lockdep it is
# reported as skipped, and it runs in the Debian tier. SUITE_DIR/settings may
# set timeout=N (seconds per test, default 120). Exit codes: 0 pass, 4 skip,
# anything else fail. A test also fails if the kernel log gains a line matching
# scripts/vm/bad-patterns.txt while it runs. Ends with
# "VMRESULT pass=N fail=N skip=N".
#
# Env from scripts/vm/ktest.sh: VDPA_ONLY="t1 t2" runs only those tests of
# the list (the others are reported as skipped; for development runs).
# VDPA_TIMEOUT_SCALE multiplies the timeout (the
# debug kernel is slower); tests inherit it and scale their own time limits.
# VDPA_HOST_SHARE (how many suite VMs share the host) multiplies the
# per-test timeout too: a guest with half the host CPUs is slower.
# On a kernel with kmemleak, its periodic scan is switched off and a last
# test "kmemleak" scans after the suite; it fails on any object reported as
# leaked that was allocated after the modules began to load (what boot and
# the initramfs leave behind is not ours, and costs no scan up front).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SUITE_DIR=$(cd "$1" && pwd)
BUILD_DIR=$2
BAD=$(cat "$ROOT/scripts/vm/bad-patterns.txt")
export SUITE_DIR BUILD_DIR REPO_ROOT=$ROOT

timeout=120
if [ -f "$SUITE_DIR/settings" ]; then
	t=$(sed -n 's/^timeout=\([0-9]*\).*/\1/p' "$SUITE_DIR/settings")
	[ -n "$t" ] && timeout=$t
fi
timeout=$((timeout * ${VDPA_TIMEOUT_SCALE:-1} * ${VDPA_HOST_SHARE:-1}))
KMEMLEAK=/sys/kernel/debug/kmemleak
[ -w $KMEMLEAK ] || KMEMLEAK=""

# kmemleak_scan: two scans, the second after objects reached kmemleak's
# minimum age (5 s), as its documentation recommends.
kmemleak_scan() {
	echo scan >$KMEMLEAK
	sleep 6
	echo scan >$KMEMLEAK
}

# jiffies_now: the kernel's jiffies counter (/proc/timer_list).
jiffies_now() {
	awk '/^jiffies:/ { print $2; exit }' /proc/timer_list
}

# kmemleak_ours SINCE: the records of the report (each starts with
# "unreferenced object") of objects allocated at or after jiffies SINCE;
# kmemleak gives each object's allocation time as "jiffies N".
kmemleak_ours() {
	awk -v since="$1" '
		/^unreferenced object/ { if (keep) printf "%s", rec; rec = ""; keep = 0 }
		{ rec = rec $0 "\n" }
		match($0, /jiffies [0-9]+/) { keep = substr($0, RSTART + 8, RLENGTH - 8) + 0 >= since }
		END { if (keep) printf "%s", rec }' $KMEMLEAK
}

# Kernel log lines matching the bad patterns after line $1 of dmesg.
bad_kmsg_since() {
	dmesg | tail -n +$(($1 + 1)) | grep -E "$BAD"
}

echo "TAP version 13"
if [ -n "$KMEMLEAK" ]; then
	echo scan=off >$KMEMLEAK
	loaded_at=$(jiffies_now)
fi
if ! out=$("$ROOT/scripts/vm/load-modules.sh" 2>&1); then
	printf '%s\n' "$out" | sed 's/^/# /'
	echo "Bail out! loading modules failed"
	echo "VMRESULT pass=0 fail=1 skip=0"
	exit 1
fi
if bad=$(bad_kmsg_since 0); then
	printf '%s\n' "$bad" | sed 's/^/# dmesg: /'
	echo "Bail out! kernel warnings while loading modules"
	echo "VMRESULT pass=0 fail=1 skip=0"
	exit 1
fi

mapfile -t tests < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$SUITE_DIR/tests.list")
[ -z "$KMEMLEAK" ] || tests+=(kmemleak)
echo "1..${#tests[@]}"
pass=0 fail=0 skip=0 i=0
for line in "${tests[@]}"; do
	i=$((i + 1))
	read -r t tags <<<"$line"
	if [ -n "${VDPA_ONLY:-}" ] && [[ " $VDPA_ONLY kmemleak " != *" $t "* ]]; then
		echo "ok $i $t # SKIP not in VDPA_ONLY"
		skip=$((skip + 1))
		continue
	fi
	if [ "${VDPA_QUICK:-0}" = 1 ] && [[ " $tags " == *" slow "* ]]; then
		echo "ok $i $t # SKIP slow: only in the full run (make test-dbg)"
		skip=$((skip + 1))
		continue
	fi
	if [[ " $tags " == *" no-lockdep "* ]] && [ -e /proc/lockdep ]; then
		echo "ok $i $t # SKIP no-lockdep: lockdep reports an upstream lock order on its path (see tests.list)"
		skip=$((skip + 1))
		continue
	fi
	if [ "$t" = kmemleak ] && [ -n "$KMEMLEAK" ]; then
		echo "# RUN kmemleak (scan after the suite)"
		t0=$SECONDS
		kmemleak_scan
		leaks=$(kmemleak_ours "$loaded_at")
		echo "# kmemleak took $((SECONDS - t0)) s"
		if [ -n "$leaks" ]; then
			printf '%s\n' "$leaks" | sed 's/^/# /'
			echo "not ok $i kmemleak # leaks"
			fail=$((fail + 1))
		else
			echo "ok $i kmemleak"
			pass=$((pass + 1))
		fi
		continue
	fi
	if [ -x "$BUILD_DIR/$t" ]; then
		cmd=("$BUILD_DIR/$t")
	elif [ -x "$SUITE_DIR/$t" ]; then
		cmd=("$SUITE_DIR/$t")
	elif [ -f "$SUITE_DIR/$t" ]; then
		cmd=(bash "$SUITE_DIR/$t")
	else
		echo "# $t: not found in $BUILD_DIR or $SUITE_DIR"
		echo "not ok $i $t"
		fail=$((fail + 1))
		continue
	fi
	mark=$(dmesg | wc -l)
	echo "vdpa-ktest: start $t" >/dev/kmsg
	echo "# RUN $t"
	t0=$SECONDS
	(cd "$BUILD_DIR" && timeout -k 5 "$timeout" "${cmd[@]}") </dev/null 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	echo "vdpa-ktest: end $t rc=$rc" >/dev/kmsg
	echo "# $t took $((SECONDS - t0)) s"
	directive=""
	if bad=$(bad_kmsg_since "$mark"); then
		printf '%s\n' "$bad" | sed 's/^/# dmesg: /'
		rc=1
		directive=" # kernel warning"
	fi
	case $rc in
	0) echo "ok $i $t"; pass=$((pass + 1)) ;;
	4) echo "ok $i $t # SKIP"; skip=$((skip + 1)) ;;
	124) echo "not ok $i $t # TIMEOUT ${timeout}s"; fail=$((fail + 1)) ;;
	*) echo "not ok $i $t$directive"; fail=$((fail + 1)) ;;
	esac
done
echo "VMRESULT pass=$pass fail=$fail skip=$skip"
