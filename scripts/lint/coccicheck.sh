#!/bin/bash
# scripts/lint/coccicheck.sh - run every semantic patch of the kernel's
# scripts/coccinelle/ in report mode over our kernel sources; fail on any
# finding. Per-script "// Options:" and "// Requires:" headers are honoured.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KSRC=$("$ROOT/scripts/ksrc.sh")
OUT=$ROOT/build/lint/cocci
cd "$ROOT"

# Semantic patches that cannot run meaningfully on out-of-tree code:
#  misc/add_namespace.cocci - only acts in "nsdeps" mode (make nsdeps), not report.
#  api/check_bq27xxx_data.cocci, null/badzero.cocci - need OCaml scripting, which
#    Debian's spatch lacks ("No OCaml compiler found"); bq27xxx is irrelevant anyway.
SKIP="misc/add_namespace.cocci api/check_bq27xxx_data.cocci null/badzero.cocci"

# Kernel code only: the rules assume kernel APIs (e.g. min(), kfree()), and
# would give false positives on the userspace selftests.
dirs=$(for d in drivers include; do
	[ -d "$d" ] && find "$d" -name '*.[ch]' -type f | grep -q . && echo "$d"
done || true)
if [ -z "$dirs" ]; then
	echo "lint/coccicheck: no C files"
	exit 0
fi

spatch_version=$(spatch --version | awk 'NR == 1 { print $3 }')
rm -rf "$OUT"
mkdir -p "$OUT"

# One job per semantic patch; findings (stdout) go to $OUT/<name>.out, spatch's
# own diagnostics (SmPL parse warnings) to $OUT/<name>.err.
run_one() {
	cocci=$1 rel=${1#"$KSRC"/scripts/coccinelle/}
	out=$OUT/$(echo "$rel" | tr / _).out
	case " $SKIP " in *" $rel "*) return 0 ;; esac
	req=$(sed -n 's|^// *Requires: *||p' "$cocci")
	if [ -n "$req" ] && ! printf '%s\n%s\n' "$req" "$spatch_version" | sort -CV; then
		return 0
	fi
	opts=$(sed -n 's|^// *Options: *||p' "$cocci")
	for d in $dirs; do
		# shellcheck disable=SC2086
		spatch -D report --no-show-diff --very-quiet --cocci-file "$cocci" \
			$opts -I "$ROOT/include" --dir "$d" >>"$out" 2>>"${out%.out}.err" ||
			echo "spatch failed ($rel on $d)" >>"$out"
	done
	[ -s "$out" ] && sed -i "1i == $rel" "$out"
	return 0
}
export -f run_one
export OUT KSRC SKIP dirs spatch_version ROOT

find "$KSRC/scripts/coccinelle" -name '*.cocci' -type f | sort |
	xargs -P "$(nproc)" -I{} bash -c 'run_one "$1"' _ {}

if cat "$OUT"/*.out 2>/dev/null | grep .; then
	echo "lint/coccicheck: FAILED"
	exit 1
fi
echo "lint/coccicheck: clean"
