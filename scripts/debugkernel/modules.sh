#!/bin/bash
# scripts/debugkernel/modules.sh - build our modules against the debug kernel
# (scripts/debugkernel/build.sh must have run). Kbuild writes objects next to
# the sources, so a copy of the tree (Kbuild, include/, drivers/) in
# build/dbg/ours is built, leaving the Debian-tier objects in the checkout
# alone. The kernel's vDPA core is built into that kernel: no compat step.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/dbg/ours
KOBJ=$ROOT/build/dbg/obj
[ -f "$KOBJ/Module.symvers" ] || { echo "dbg modules: no debug kernel in $KOBJ" >&2; exit 1; }

mkdir -p "$OUT"
# Mirror the sources (not kbuild output); only changed files are copied, so
# kbuild rebuilds only what changed. Files gone from the tree go here too.
(cd "$ROOT" && find Kbuild include drivers -type f \
	\( -name Kbuild -o -name Makefile -o -name '*.[ch]' \) ! -name '*.mod.c' 2>/dev/null) |
	while read -r f; do
		cmp -s "$ROOT/$f" "$OUT/$f" || install -D -m 644 "$ROOT/$f" "$OUT/$f"
	done
(cd "$OUT" && find drivers include -type f -name '*.[ch]' ! -name '*.mod.c' 2>/dev/null) |
	while read -r f; do
		[ -e "$ROOT/$f" ] || rm -f "$OUT/$f"
	done
# vhost.h is not a public header; drivers/vhost/vdpa_migrate finds it in
# build/kinc relative to the tree (see scripts/compat.sh).
install -D -m 644 "$("$ROOT/scripts/ksrc.sh")/drivers/vhost/vhost.h" \
	"$OUT/build/kinc/vhost.h"
make -s -C "$KOBJ" M="$OUT" modules >"$OUT/build.log" 2>&1 || {
	cat "$OUT/build.log" >&2
	echo "dbg modules: build failed (log: $OUT/build.log)" >&2
	exit 1
}
# Warnings are the lint tier's business, but show them.
grep -E 'warning:' "$OUT/build.log" >&2 || true
