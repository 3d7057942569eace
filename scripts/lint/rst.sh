#!/bin/bash
# scripts/lint/rst.sh - parse every reStructuredText file of Documentation/
# with docutils (Debian's python3-docutils) and fail on any warning or
# error: malformed tables, short title rules, broken markup.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
mapfile -t files < <(find Documentation -name '*.rst' | sort)
/usr/bin/python3 - "${files[@]}" <<'PY'
import io
import sys

import docutils.core

bad = 0
for path in sys.argv[1:]:
    err = io.StringIO()
    with open(path, encoding='utf-8') as f:
        docutils.core.publish_doctree(
            f.read(), source_path=path,
            settings_overrides={'report_level': 2, 'halt_level': 5,
                                'warning_stream': err})
    if err.getvalue().strip():
        print(err.getvalue().rstrip())
        bad = 1
sys.exit(bad)
PY
echo "lint/rst: clean"
