#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench.sh - `make bench`: boot the test VM once and run every
# scripts/bench/*.sh inside it.  Each benchmark prints side-by-side numbers
# from the same run and "RATIO ..." lines; absolute numbers under TCG are
# meaningless, ratios are what to compare.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
exec "$ROOT/scripts/vm/run.sh" --timeout 1200 --live -- /bin/bash -c \
	"cd $ROOT && scripts/vm/load-modules.sh >/dev/null &&
	 for b in scripts/bench/*.sh; do echo \"== \$b\"; \"\$b\" || exit 1; done"
