#!/bin/bash
# scripts/kver.sh - print the target kernel release: $KVER if set, else the
# newest /lib/modules/*-amd64 that has a matching /boot/vmlinuz-*.
set -eu

if [ -n "${KVER:-}" ]; then
	echo "$KVER"
	exit 0
fi
best=""
for d in /lib/modules/*-amd64; do
	v=${d##*/}
	[ -e "/boot/vmlinuz-$v" ] && best="$best$v"$'\n'
done
best=$(printf '%s' "$best" | sort -V | tail -n1)
[ -n "$best" ] || { echo "kver: no /lib/modules/*-amd64 with /boot/vmlinuz-*" >&2; exit 1; }
echo "$best"
