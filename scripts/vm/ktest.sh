#!/bin/bash
# scripts/vm/ktest.sh [--kernel BZIMAGE] SUITE_DIR... - run selftest suites,
# one fresh VM each.
#
# Without --kernel: the Debian tier (Debian's kernel, compat vDPA modules).
# With --kernel: the debug tier, booting that sanitizer kernel (see
# scripts/debugkernel/); per-test timeouts are tripled and each suite ends
# with a kmemleak scan (scripts/vm/ktest-runner.sh). Logs go to
# build/vm/ktest/<suite>/ or build/vm/ktest-dbg/<suite>/.
#
# Per suite (tools/testing/selftests/vdpa_*/): optional "vm.args" holds extra
# QEMU arguments (lines; '#' starts a comment; a line "guest-qmp" gives the
# guest a QMP port, see scripts/vm/qmp.py; "@BUILD@" stands for the suite's
# build directory); an optional executable "vm.prepare" runs on the host
# before each boot with that directory as argument (e.g. to create disk
# images, which are never committed); "settings" may set timeout=N per
# test. Binaries are expected in build/selftests/<suite>/ (make selftests).
# A suite fails if any test fails, if its VM never printed the VMRESULT line
# (crash, hang, timeout), or if the whole console log shows a kernel warning.
# Last line: "N passed, N failed, N skipped". Exit 0 only without failures.
#
# VDPA_JOBS=N (default: the host's CPU count, at most 2) runs N suite VMs at
# once, longest first by their own estimate (timeout x tests): a TCG guest
# mostly keeps one host CPU busy, so two VMs on two CPUs take about half the
# wall time. With more than one job a suite's TAP is printed when it ends,
# not live, and every timeout is multiplied by the number of jobs (a test
# that needs both of its guest's CPUs gets half of that).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BAD=$(cat "$ROOT/scripts/vm/bad-patterns.txt")
kernel="" tier=debian logs=$ROOT/build/vm/ktest scale=1
if [ "${1:-}" = --kernel ]; then
	kernel=$2 tier=debug logs=$ROOT/build/vm/ktest-dbg scale=3
	shift 2
fi
[ $# -gt 0 ] || { echo "usage: ktest.sh [--kernel BZIMAGE] SUITE_DIR..." >&2; exit 2; }
jobs=${VDPA_JOBS:-$(nproc)}
[ "$jobs" -le 2 ] || jobs=2
[ "$jobs" -le $# ] || jobs=$#
[ "$jobs" -ge 1 ] || jobs=1

# Seconds a suite may take: per-test timeout x number of tests, plus boot
# and module loading.
suite_timeout() {
	local t n
	t=$(sed -n 's/^timeout=\([0-9]*\).*/\1/p' "$1/settings" 2>/dev/null || true)
	n=$(grep -cvE '^[[:space:]]*(#|$)' "$1/tests.list" || true)
	echo $(( (${t:-120} * ${n:-1} + 120) * scale * jobs ))
}

# run_suite DIR: boot one VM for the suite; its summary ("pass fail skip")
# goes to $out/counts, its report lines to stdout.
run_suite() {
	local suite name out bdir qargs gq line vm_timeout start res p f s live try rc
	suite=$(cd "$1" && pwd)
	name=$(basename "$suite")
	out=$logs/$name
	bdir=$ROOT/build/selftests/$name
	mkdir -p "$out" "$bdir"
	echo "0 1 0" >"$out/counts"

	qargs="" gq=""
	if [ -f "$suite/vm.args" ]; then
		while read -r line; do
			line=${line%%#*}
			case "$line" in
			"") ;;
			guest-qmp) gq=--guest-qmp ;;
			*) qargs="$qargs ${line//@BUILD@/$bdir}" ;;
			esac
		done <"$suite/vm.args"
	fi
	if [ -x "$suite/vm.prepare" ] && ! "$suite/vm.prepare" "$bdir"; then
		echo "# $name: vm.prepare failed"
		return
	fi
	vm_timeout=$(suite_timeout "$suite")

	live=""
	[ "$jobs" -gt 1 ] || live=--live
	echo "# suite $name, $tier tier (console: ${out#"$ROOT"/}/console.log${live:+; TAP follows live})"
	start=$(date +%s)
	# A guest that hangs before the runner starts (run.sh: 126) gets one
	# more boot; its console is kept as console.boothang.log.
	for try in 1 2; do
		rc=0
		# shellcheck disable=SC2086
		"$ROOT/scripts/vm/run.sh" $live --timeout "$vm_timeout" $gq --qemu-args "$qargs" \
			${kernel:+--kernel "$kernel"} --console "$out/console.log" --result "$out/result.log" \
			-- env VDPA_TIER=$tier VDPA_TIMEOUT_SCALE=$scale VDPA_QUICK="${VDPA_QUICK:-0}" VDPA_ONLY="${VDPA_ONLY:-}" VDPA_HOST_SHARE=$jobs \
			"$ROOT/scripts/vm/ktest-runner.sh" "$suite" "$bdir" || rc=$?
		[ "$rc" -eq 126 ] && [ $try -eq 1 ] || break
		cp "$out/console.log" "$out/console.boothang.log"
		echo "# $name: the VM hung while booting (console.boothang.log); booting again"
	done
	tr -d '\r' <"$out/result.log" >"$out/result.tap"
	[ -n "$live" ] || cat "$out/result.tap"

	res=$(grep -E '^VMRESULT ' "$out/result.tap" | tail -n1 || true)
	if [ -z "$res" ]; then
		echo "# $name: no VMRESULT line: VM crashed, hung or timed out"
		return
	fi
	p=$(echo "$res" | sed 's/.*pass=\([0-9]*\).*/\1/')
	f=$(echo "$res" | sed 's/.*fail=\([0-9]*\).*/\1/')
	s=$(echo "$res" | sed 's/.*skip=\([0-9]*\).*/\1/')
	# The console catches what the guest could not report (e.g. at shutdown);
	# it fails the suite, counted as one more failure unless one was counted.
	if grep -E "$BAD" "$out/console.log" | sed "s/^/# $name console: /" | grep .; then
		[ "$f" -gt 0 ] || f=1
	fi
	echo "# $name: pass=$p fail=$f skip=$s ($(( $(date +%s) - start ))s)"
	echo "$p $f $s" >"$out/counts"
}

# Longest first, so that the last VM to start is a short one.
mapfile -t order < <(for suite in "$@"; do
	echo "$(suite_timeout "$suite") $suite"
done | sort -rn -s -k1,1 | cut -d' ' -f2-)

if [ "$jobs" -eq 1 ]; then
	for suite in "${order[@]}"; do
		run_suite "$suite"
	done
else
	# Each suite's report is printed in one piece when it ends.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM HUP
	i=0
	for suite in "${order[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
			wait -n || true
		done
		i=$((i + 1))
		{ run_suite "$suite" >"$tmp/$i" 2>&1; cat "$tmp/$i"; } &
	done
	wait
fi

tpass=0 tfail=0 tskip=0
for suite in "${order[@]}"; do
	read -r p f s <"$logs/$(basename "$(cd "$suite" && pwd)")/counts"
	tpass=$((tpass + p)) tfail=$((tfail + f)) tskip=$((tskip + s))
done

echo "$tpass passed, $tfail failed, $tskip skipped"
[ "$tfail" -eq 0 ]
