#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live migration with tools/vdpa-migrate: a guest on generic net device
# "src" (vdpa_migrate) exchanges probe frames with a kernel netdev "peer"
# (virtio_vdpa) while the tool moves it to device "dst": pre-copy rounds
# driven by the dirty log, stop-and-copy, state load, and the guest runs on.
# The peer must get every frame the guest completed exactly once, intact,
# and keep receiving after the switch; frames sent to the guest during the
# downtime may be lost, and the loss is reported.  Once over a socket, once
# through a file.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/lib.sh"
PY=/usr/bin/python3
TOOL=${VDPA_MIGRATE:-$DIR/../../../../build/tools/vdpa-migrate}

need_mgmtdev vdpagen_net
[ -d /sys/bus/vdpa/drivers/vdpa_migrate ] || skip "vdpa_migrate not loaded"
[ -x "$TOOL" ] || skip "no $TOOL (make -C tools/vdpa-migrate)"
modprobe virtio_net 2>/dev/null

SRC=mgs$$ DST=mgd$$ PEER=mgp$$
cleanup() {
	for d in $SRC $DST $PEER; do vdpa dev del "$d" 2>/dev/null; done
}
trap cleanup EXIT

one_run() {
	local via=$1 out peer_out peer_pid rounds err tx_done lost dups bad
	cleanup
	vdpa dev add mgmtdev vdpagen_net name $SRC mac 02:00:00:00:05:01 || fail "add src"
	vdpa dev add mgmtdev vdpagen_net name $DST mac 02:00:00:00:05:02 || fail "add dst"
	vdpa dev add mgmtdev vdpagen_net name $PEER mac 02:00:00:00:05:03 || fail "add peer"
	bind_vdpa $SRC vdpa_migrate
	bind_vdpa $DST vdpa_migrate
	bind_vdpa $PEER virtio_vdpa
	local ifc
	wait_for 10 vdpa_netdev $PEER || fail "no netdev for $PEER"
	ifc=$(vdpa_netdev $PEER)
	ip link set "$ifc" up

	rm -f /tmp/mig_peer.stop /tmp/mig_peer.stop.ready
	$PY "$DIR/mig_peer.py" "$ifc" 02:00:00:00:05:01 200 /tmp/mig_peer.stop \
		> /tmp/mig_peer.out &
	peer_pid=$!
	wait_for 30 test -e /tmp/mig_peer.stop.ready || fail "peer did not start"
	out=$("$TOOL" --src $SRC --dst $DST --peer-mac 02:00:00:00:05:03 \
		--mem 16 --rate 1000 --warmup 300 --round-ms 200 --after 1500 \
		--via "$via" --json) || fail "vdpa-migrate ($via) failed: $out"
	sleep 0.3
	touch /tmp/mig_peer.stop
	wait $peer_pid
	peer_out=$(cat /tmp/mig_peer.out)
	log "$via: tool: $out"
	log "$via: peer: $peer_out"

	$PY - "$out" "$peer_out" <<'PYEOF' || fail "$via: check failed"
import json, sys
t, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ok = True
def need(cond, what):
    global ok
    if not cond:
        print("# not ok:", what)
        ok = False
need(t["error"] == 0, "tool error")
need(t["rounds"] >= 2, "at least one pre-copy round after the full copy")
need(p["bad"] == 0 and p["dups"] == 0, "no corrupt or duplicate frame at the peer")
# Every frame the guest saw completed reached the peer; the outstanding
# ones (sent, not completed when the run ended) may or may not have.
need(p["unique"] >= t["tx_done"], "peer got every completed frame")
need(p["unique"] <= t["tx_sent"], "peer got nothing the guest did not send")
need(t["rx_bad"] == 0, "no corrupt frame at the guest")
need(t["rx_frames"] > 0, "the guest received the peer's frames")
lost = p["sent"] - t["rx_frames"]
print("# peer->guest: sent %d, guest got %d, lost %d (downtime %.1f ms)" %
      (p["sent"], t["rx_frames"], lost, t["downtime_ms"]))
sys.exit(0 if ok else 1)
PYEOF
}

one_run socket
one_run file:/tmp/mig.stream
check_dmesg
echo "PASS: mig_tool"
exit $KSFT_PASS
