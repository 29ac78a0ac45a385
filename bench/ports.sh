#!/usr/bin/env bash
# TCP throughput through a published port, side by side with the paths
# without one, in one throwaway lab (bench/lab.sh: the lab's host, and an
# `outside` namespace on its uplink veth at 198.51.100.1). iperf3, R runs
# of S seconds each, interleaved so noise hits every path; prints medians.
#
#   sudo bench/ports.sh [R] [S]        (defaults: 5 runs of 3 s)
#
# Paths (the server is one container, `srv`, on a berth bridge network):
#   - bridged veth: from another container of the same network to srv's
#     address (veth, bridge, veth; no NAT);
#   - published port: from `outside` to the lab's address, port 5201
#     published to srv (uplink veth, DNAT, forwarding, bridge, veth);
#   - uplink alone: from `outside` to an iperf3 on the lab's host itself
#     (the uplink veth, no bridge, no NAT): what the published path adds
#     to the wire it arrives on.
# Goal (issue 13): the published port within 5% of the bridged veth.
R=${1:-5}
S=${2:-3}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open ports "bench/ports.sh $*"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
for t in iperf3 jq; do
    command -v $t >/dev/null || { echo "$t is missing: run scripts/deps" >&2; exit 1; }
done
results_note "no peer: the references are the same container reached without a published port, and the uplink alone"

"$BERTH" network create --subnet 198.18.0.0/24 pnet >/dev/null
"$BERTH" run -d --name srv --network pnet -p 5201:5201 iperf3 -s >/dev/null
"$BERTH" run -d --name cli --network pnet busybox sleep 3600 >/dev/null
iperf3 -s -D -B 198.51.100.2 -p 5202 --logfile "$BENCH_TMP/iperf-host.log"
SRV=$("$BERTH" inspect -f '{{(index .NetworkSettings.Networks "pnet").IPAddress}}' srv)
MTU=$("$BERTH" exec cli cat /sys/class/net/eth0/mtu)
# The server answers on every path before anything is timed.
for _ in $(seq 50); do
    ip netns exec outside iperf3 -t 1 -c 198.51.100.2 -p 5201 >/dev/null 2>&1 && break
    sleep 0.1
done
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9'; }
br=() pub=() up=()
for _ in $(seq 1 "$R"); do
    br+=("$("$BERTH" exec cli iperf3 -J -t "$S" -c "$SRV" | gbps)")
    pub+=("$(ip netns exec outside iperf3 -J -t "$S" -c 198.51.100.2 -p 5201 | gbps)")
    up+=("$(ip netns exec outside iperf3 -J -t "$S" -c 198.51.100.2 -p 5202 | gbps)")
done
med() { sort -g | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
BR=$(printf '%s\n' "${br[@]}" | med)
PUB=$(printf '%s\n' "${pub[@]}" | med)
UP=$(printf '%s\n' "${up[@]}" | med)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

{
printf '%-52s %10s\n' "metric (medians; R=$R x $S s)" "value"
printf '%-52s %10s\n' "TCP, container to container, bridged veth (Gbit/s)" "$BR"
printf '%-52s %10s\n' "TCP, outside to a published port (Gbit/s)" "$PUB"
printf '%-52s %10s\n' "TCP, outside to the host, uplink alone (Gbit/s)" "$UP"
printf '%-52s %10s\n' "published port / bridged veth" "$(ratio "$PUB" "$BR")"
printf '%-52s %10s\n' "published port / uplink alone" "$(ratio "$PUB" "$UP")"
printf '%-52s %10s\n' "container MTU" "$MTU"
} | results_table
