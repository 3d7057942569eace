#!/bin/bash
# scripts/deps.sh - install the Debian packages the build, lint and VM tests need.
#
# Idempotent: does nothing when every package is already installed, runs
# "apt-get update" only when a package is missing from the cached lists.
set -eu

PKGS="linux-image-amd64 linux-headers-amd64 linux-source-6.1
      build-essential make gcc bc flex bison libelf-dev libssl-dev
      kmod cpio xz-utils gzip busybox-static qemu-system-x86
      sparse coccinelle python3 perl
      iproute2 ethtool iputils-ping e2fsprogs ccache python3-docutils"

missing=""
for p in $PKGS; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -E"
apt_install() {
	$SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
}
# Try with the current lists first; refresh them only if that fails.
if ! apt_install; then
	$SUDO apt-get update -q </dev/null
	apt_install
fi
