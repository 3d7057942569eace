#!/bin/bash
# scripts/lint/kbuild-warnings.sh NAME MAKE-ARGS... - run a kbuild pass (sparse
# C=2, or W=1) over our modules and fail if it reports any warning or error in
# our own files. Warnings located in kernel headers or build/compat are ignored.
# The full log is kept in build/lint/NAME.log.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
name=$1; shift
log=$ROOT/build/lint/$name.log
mkdir -p "$ROOT/build/lint"

# C=2 runs sparse on every object; a changed W= level makes kbuild recompile.
rc=0
make "$@" >"$log" 2>&1 || rc=$?

# "<our file>:line[:col]: warning|error: ..." and modpost warnings naming our files.
ours=$(grep -E "^($ROOT/|\./)?(drivers|include|tools)/[^:]*:[0-9]+(:[0-9]+)?: (warning|error)|^WARNING: .*$ROOT/(drivers|include)" "$log" |
	grep -v "^$ROOT/build/" || true)
if [ $rc -ne 0 ] || [ -n "$ours" ]; then
	[ -n "$ours" ] && printf '%s\n' "$ours"
	[ $rc -ne 0 ] && tail -n 30 "$log"
	echo "lint/$name: FAILED (make rc=$rc; log: ${log#$ROOT/})"
	exit 1
fi
echo "lint/$name: clean"
