#!/bin/bash
# scripts/debugkernel/build.sh - build (or reuse) the sanitizer test kernel.
#
# The full linux-source tarball is extracted once into build/kernel/ (stamp:
# the tarball's path, mtime and size). The kernel is configured with
# "make allnoconfig" forced by our fragment scripts/debugkernel/debug.config
# (KCONFIG_ALLCONFIG) and built out of the source tree in build/dbg/obj.
# Every line of the fragment is then checked against the resulting .config:
# an option kconfig silently dropped (say KASAN) fails the build loudly.
# Cached: nothing is rebuilt while the fragment, the tarball and the compiler
# are unchanged (key in build/dbg/.stamp).  A rebuild (a fresh clone, as in
# CI) goes through ccache when it is installed, with its cache outside the
# clone (VDPA_CCACHE_DIR, default /var/cache/vdpa-fusion/ccache) and paths
# taken relative to the clone, so another clone of the same sources hits it.
# Prints the path of the bzImage on stdout; the kernel release is in
# build/dbg/kernelrelease.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FRAG=$ROOT/scripts/debugkernel/debug.config
TARBALL=${KSRC_TARBALL:-$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)}
[ -f "$TARBALL" ] || { echo "debugkernel: no /usr/src/linux-source-*.tar.xz (run scripts/deps.sh)" >&2; exit 1; }
TOP=$(basename "$TARBALL" .tar.xz)
SRC=$ROOT/build/kernel/$TOP
OUT=$ROOT/build/dbg
OBJ=$OUT/obj
KMAKE=(make -s -C "$SRC" O="$OBJ" ARCH=x86_64)
if command -v ccache >/dev/null 2>&1; then
	export CCACHE_DIR=${VDPA_CCACHE_DIR:-/var/cache/vdpa-fusion/ccache}
	export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=4G
	mkdir -p "$CCACHE_DIR"
	KMAKE+=(CC="ccache gcc")
fi

mkdir -p "$OUT"
exec 9>"$ROOT/build/.dbgkernel.lock"
flock 9

# --- full source tree, extracted once ----------------------------------------
want="$TARBALL $(stat -c '%Y %s' "$TARBALL")"
if [ "$(cat "$ROOT/build/kernel/.stamp" 2>/dev/null)" != "$want" ] || [ ! -d "$SRC" ]; then
	echo "debugkernel: extracting $TARBALL" >&2
	rm -rf "$ROOT/build/kernel"
	mkdir -p "$ROOT/build/kernel"
	tar -xJf "$TARBALL" -C "$ROOT/build/kernel"
	echo "$want" >"$ROOT/build/kernel/.stamp"
fi

# The object tree's Makefile names the source tree: a clone that moved (or
# a worktree that is gone) must not reuse it.
key=$( { echo "$want $SRC"; gcc --version | head -n1; cat "$FRAG"; } | sha256sum | cut -d' ' -f1)
bz=$OBJ/arch/x86/boot/bzImage
if [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$key" ] && [ -f "$bz" ]; then
	echo "$bz"
	exit 0
fi
rm -f "$OUT/.stamp"
[ ! -f "$OBJ/Makefile" ] || grep -qF "$SRC/Makefile" "$OBJ/Makefile" || rm -rf "$OBJ"

# --- configure and verify -------------------------------------------------------
mkdir -p "$OBJ"
"${KMAKE[@]}" KCONFIG_ALLCONFIG="$FRAG" allnoconfig >"$OUT/config.log" 2>&1 || {
	cat "$OUT/config.log" >&2
	echo "debugkernel: configuration failed" >&2
	exit 1
}
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) sym=${line%%=*} ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
	*) continue ;;
	esac
	got=$(grep -E "^$sym=|^# $sym is not set" "$OBJ/.config" || echo "# $sym is not set")
	if [ "$got" != "$line" ]; then
		echo "debugkernel: wanted '$line', .config has '$got'" >&2
		bad=1
	fi
done <"$FRAG"
[ $bad -eq 0 ] || { echo "debugkernel: kconfig dropped options of $FRAG" >&2; exit 1; }

# --- build --------------------------------------------------------------------
echo "debugkernel: building in ${OBJ#$ROOT/} (log: ${OUT#$ROOT/}/build.log)" >&2
start=$(date +%s)
"${KMAKE[@]}" -j"$(nproc)" bzImage modules >"$OUT/build.log" 2>&1 || {
	tail -n 40 "$OUT/build.log" >&2
	echo "debugkernel: build failed (log: $OUT/build.log)" >&2
	exit 1
}
"${KMAKE[@]}" kernelrelease >"$OUT/kernelrelease"
echo "debugkernel: built $(cat "$OUT/kernelrelease") in $(( $(date +%s) - start ))s" >&2
[ -z "${CCACHE_DIR:-}" ] || ccache -s 2>/dev/null | grep -iE 'hits|misses' | sed 's/^/debugkernel: ccache /' >&2 || true
echo "$key" >"$OUT/.stamp"
echo "$bz"
