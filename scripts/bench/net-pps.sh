#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/net-pps.sh - runs inside the test VM (see scripts/bench.sh).
#
# Packets per second delivered through a generic net device pair (frames
# cross the in-kernel switch from device A to device B) next to the
# kernel's vdpa_sim_net (which loops a device's TX back to its own RX).
# Both are driven the same way: pktgen sends COUNT frames of SIZE bytes out
# of a virtio_vdpa netdev and we count what the receiving netdev got per
# second of wall time.  Rounds alternate so both see the same machine load;
# the ratio of the medians is what to read (TCG makes absolute pps moot).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tools/testing/selftests/vdpa_generic/lib.sh"
COUNT=${COUNT:-20000}
SIZE=${SIZE:-64}
ROUNDS=${ROUNDS:-5}

modprobe pktgen

setup_dev() { # mgmtdev name mac
	vdpa dev add mgmtdev "$1" name "$2" mac "$3"
	bind_vdpa "$2" virtio_vdpa
	wait_for 10 vdpa_netdev "$2"
	ip link set "$(vdpa_netdev "$2")" up
}

pg() { echo "$2" > "/proc/net/pktgen/$1"; }

# run_pktgen TX_IF RX_IF DST_MAC: prints delivered packets per second
run_pktgen() {
	local tx=$1 rx=$2 dst=$3 r0 r1 t0 t1
	pg kpktgend_0 "rem_device_all"
	pg kpktgend_0 "add_device $tx"
	pg "$tx" "count $COUNT"
	pg "$tx" "pkt_size $SIZE"
	pg "$tx" "delay 0"
	pg "$tx" "dst_mac $dst"
	pg "$tx" "dst 10.99.0.2"
	r0=$(cat "/sys/class/net/$rx/statistics/rx_packets")
	t0=$(date +%s%N)
	pg pgctrl start # returns when the last frame was sent
	t1=$(date +%s%N)
	sleep 0.5 # let the receiver drain its ring before counting
	r1=$(cat "/sys/class/net/$rx/statistics/rx_packets")
	echo $(( (r1 - r0) * 1000000000 / (t1 - t0) )) $((r1 - r0))
}

setup_dev vdpasim_net bsim 02:00:00:00:0c:01
setup_dev vdpagen_net bga 02:00:00:00:0c:02
setup_dev vdpagen_net bgb 02:00:00:00:0c:03
sim=$(vdpa_netdev bsim)
ga=$(vdpa_netdev bga)
gb=$(vdpa_netdev bgb)

sims="" gens=""
for r in $(seq 1 "$ROUNDS"); do
	set -- $(run_pktgen "$sim" "$sim" 02:00:00:00:0c:01)
	echo "round $r vdpa_sim_net: $1 pps ($2 of $COUNT frames delivered)"
	sims="$sims $1"
	set -- $(run_pktgen "$ga" "$gb" 02:00:00:00:0c:03)
	echo "round $r vdpa_gen_net: $1 pps ($2 of $COUNT frames delivered)"
	gens="$gens $1"
done
median() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ms=$(median $sims)
mg=$(median $gens)
echo "net pps, ${SIZE}-byte frames: vdpa_gen_net $mg vs vdpa_sim_net $ms"
awk -v g="$mg" -v s="$ms" 'BEGIN { printf "RATIO generic_net/vdpa_sim_net pps = %.2f\n", g / s }'
for d in bsim bga bgb; do vdpa dev del $d; done
