#!/bin/bash
# scripts/lint/checkpatch.sh - run the kernel's checkpatch.pl (--strict) on our
# C sources and headers. Fails on any ERROR, WARNING or CHECK.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KSRC=$("$ROOT/scripts/ksrc.sh")
cd "$ROOT"

# Ignored types, only those meaningless for files checked out of tree:
#  FILE_PATH_CHANGES - asks for a MAINTAINERS update; we have no MAINTAINERS.
IGNORE=FILE_PATH_CHANGES

files=$(find drivers include tools/testing/selftests/vdpa_* tools/vdpa-migrate \
	-name '*.[ch]' ! -name '*.mod.c' -type f 2>/dev/null | sort || true)
if [ -z "$files" ]; then
	echo "lint/style: no C files"
	exit 0
fi
# shellcheck disable=SC2086
if perl "$KSRC/scripts/checkpatch.pl" --strict --no-tree --show-types \
	--quiet --ignore "$IGNORE" -f $files; then
	echo "lint/style: clean"
else
	echo "lint/style: FAILED"
	exit 1
fi
