#!/usr/bin/env bash
# Overlay networks, in one throwaway lab: two berth hosts (network
# namespaces h1, h2, each with its own BERTH_ROOT) on an underlay bridge,
# etcd on the underlay, `berth agent` on each host. Prints medians:
#
#   - attach latency: `berth run -d` on an overlay network vs a bridge
#     network of the same host (N runs each);
#   - TCP throughput (iperf3, 3 s, R runs) between containers on the two
#     hosts through the VXLAN, and between the same two hosts directly on
#     the underlay, in the same run; and through the VXLAN again with
#     `bridge-nf-call-iptables` off in both hosts (what br_netfilter costs).
#
# There is no peer: Docker's overlay driver needs swarm mode. The reference
# for throughput is the underlay itself; for attach latency, a bridge
# network of the same host.
#
#   sudo bench/overlay.sh [N] [R]          (PERF=1: also a profile of each path)
N=${1:-20}
R=${2:-3}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open overlay "bench/overlay.sh $*"
results_note "no peer (Docker's overlay is swarm-only): the reference is the underlay (throughput) and a bridge network (attach)"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
for t in etcd etcdctl iperf3 jq; do
    command -v $t >/dev/null || { echo "$t is missing: run scripts/deps" >&2; exit 1; }
done

# Containers and processes started in the hosts' namespaces (agents,
# iperf3) are not in the lab's own namespace: remove the containers, then
# end the rest by PID.
overlay_cleanup() {
    local ns p i
    for i in 1 2; do
        [ -e /run/netns/h$i ] || continue
        on $i "$BERTH" rm -f $(on $i "$BERTH" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    done
    for ns in /run/netns/h1 /run/netns/h2; do
        [ -e "$ns" ] || continue
        local ino; ino=$(stat -L -c %i "$ns")
        for p in $(ls /proc | grep -E '^[0-9]+$'); do
            [ "$(stat -L -c %i /proc/$p/ns/net 2>/dev/null)" = "$ino" ] && kill -9 "$p" 2>/dev/null || true
        done
    done
}
trap 'overlay_cleanup; bench_cleanup' EXIT

# The underlay: a bridge with etcd's address; two hosts plugged into it.
ip link add under type bridge && ip link set under up
ip addr add 192.0.2.1/24 dev under
STORE=etcd://192.0.2.1:2379
for i in 1 2; do
    ip netns add h$i
    ip link add ul-h$i type veth peer ul0 netns h$i
    ip link set ul-h$i master under up
    ip -n h$i link set lo up
    ip -n h$i addr add 192.0.2.1$i/24 dev ul0
    ip -n h$i link set ul0 up
done
etcd --name b --data-dir "$BENCH_TMP/etcd" \
    --listen-client-urls http://192.0.2.1:2379 --advertise-client-urls http://192.0.2.1:2379 \
    --listen-peer-urls http://192.0.2.1:2380 --initial-advertise-peer-urls http://192.0.2.1:2380 \
    --initial-cluster b=http://192.0.2.1:2380 >"$BENCH_TMP/etcd.log" 2>&1 &
bench_pids+=($!)
for _ in $(seq 100); do
    ETCDCTL_API=3 etcdctl --endpoints http://192.0.2.1:2379 endpoint health >/dev/null 2>&1 && break
    sleep 0.1
done

# `on I CMD...`: run CMD as host I (its network namespace, its state root).
# nsenter keeps this lab's mount namespace, where berth pins namespaces
# (under /run, the lab's own tmpfs, unmounted with everything at the end).
on() {
    local i=$1; shift
    BERTH_ROOT=/run/bench-h$i BERTH_STORE=$STORE nsenter --net=/run/netns/h$i "$@"
}
for i in 1 2; do
    on $i "$BERTH" agent >"$BENCH_TMP/agent$i.log" 2>&1 &
    bench_pids+=($!)
done
on 1 "$BERTH" network create -d overlay --subnet 198.18.0.0/24 ov >/dev/null
on 1 "$BERTH" network create --subnet 198.19.0.0/24 local >/dev/null
on 1 "$BERTH" run -d --name warm --network ov busybox sleep 3600 >/dev/null

# Each `run -d` timed by exectime (µs), as bench/run.sh does: no fork of
# bash or `date` in the measurement. exectime runs in host 1's namespace
# (nsenter) with host 1's environment, so it times berth alone.
ov=() br=()
for i in $(seq 1 "$N"); do
    ov+=("$(on 1 "$EXECTIME" /dev/null /dev/null "$BERTH" run -d --name o$i --network ov busybox sleep 3600)")
    br+=("$(on 1 "$EXECTIME" /dev/null /dev/null "$BERTH" run -d --name b$i --network local busybox sleep 3600)")
done
for i in $(seq 1 "$N"); do on 1 "$BERTH" rm -f o$i b$i >/dev/null; done

# Throughput: iperf3 servers in a container on h2 and on h2 itself.
on 2 "$BERTH" run -d --name srv --network ov iperf3 -s >/dev/null
on 2 iperf3 -s -D -B 192.0.2.12 --logfile "$BENCH_TMP/iperf-under.log"
on 1 "$BERTH" run -d --name cli --network ov busybox sleep 3600 >/dev/null
SRV=$(on 2 "$BERTH" inspect -f '{{(index .NetworkSettings.Networks "ov").IPAddress}}' srv)
for _ in $(seq 50); do on 1 "$BERTH" exec cli busybox ping -c1 -W1 "$SRV" >/dev/null 2>&1 && break; done
MTU=$(on 1 "$BERTH" exec cli cat /sys/class/net/eth0/mtu)
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9'; }
# rx DEV: "packets bytes" received so far by host 2's underlay link.
rx() { on 2 ip -j -s link show "$1" | jq -r '.[0].stats64.rx | "\(.packets) \(.bytes)"'; }
# The mean size of what host 2's underlay link receives during the VXLAN
# runs: above the MTU, TCP crosses the tunnel as GSO superpackets (one
# encapsulation per ~64 KB, no segmentation to the MTU on the way).
# With br_netfilter loaded (Docker loads it; so do these hosts' kernels),
# `net.bridge.bridge-nf-call-iptables` (1 by default in every network
# namespace) sends each frame crossing a bridge through the IP firewall
# hooks and conntrack: on the overlay path, the bridge of each host. The
# third run of each round turns it off in the two hosts (the benchmark's
# own namespaces) to show what that costs; berth cannot turn it off on a
# real host (the setting is the host's, not berth's).
NF=/proc/sys/net/bridge/bridge-nf-call-iptables
nf() { for i in 1 2; do on $i sh -c "echo $1 > $NF"; done; }
vx=() ul=() vn=() vxp=0 vxb=0
for _ in $(seq 1 "$R"); do
    read -r p0 b0 <<<"$(rx ul0)"
    vx+=("$(on 1 "$BERTH" exec cli iperf3 -J -t 3 -c "$SRV" | gbps)")
    read -r p1 b1 <<<"$(rx ul0)"
    vxp=$((vxp + p1 - p0)) vxb=$((vxb + b1 - b0))
    ul+=("$(on 1 iperf3 -J -t 3 -c 192.0.2.12 | gbps)")
    if on 1 test -e $NF; then
        nf 0
        vn+=("$(on 1 "$BERTH" exec cli iperf3 -J -t 3 -c "$SRV" | gbps)")
        nf 1
    fi
done
# PERF=1: one more 3 s run of each path under `perf record -a` (cycles,
# no call graphs), and the kernel and user symbols of the iperf3 processes
# (which also run most of the softirq work of veths and bridges: a veth
# hands its frames to the receiving side in the sender's context) that
# take at least 1.5% of their samples, side by side: what the overlay path
# costs that the underlay's does not. Other processes on the machine are
# left out by --comm.
if [ "${PERF:-0}" = 1 ]; then
    command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
    prof() { # NAME CMD...: CMD's 3 s run, profiled system-wide
        local name=$1; shift
        perf record -q -a -o "$BENCH_TMP/$name.perf" -- sleep 2.5 2>/dev/null &
        local p=$!
        "$@" >/dev/null
        wait "$p"
        perf_flat "$BENCH_TMP/$name.perf" iperf3
    }
    PROF_VX=$(prof vx on 1 "$BERTH" exec cli iperf3 -t 3 -c "$SRV")
    PROF_UL=$(prof ul on 1 iperf3 -t 3 -c 192.0.2.12)
fi
med() { sort -g | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
VX=$(printf '%s\n' "${vx[@]}" | med)
UL=$(printf '%s\n' "${ul[@]}" | med)
VN=$( ((${#vn[@]})) && printf '%s\n' "${vn[@]}" | med || echo "-")

{
printf '%-44s %10s\n' "metric (medians; N=$N runs, R=$R x 3 s)" "value"
printf '%-44s %10s\n' "berth run -d, overlay network (ms)" "$(printf '%s\n' "${ov[@]}" | median_us)"
printf '%-44s %10s\n' "berth run -d, bridge network (ms)" "$(printf '%s\n' "${br[@]}" | median_us)"
printf '%-44s %10s\n' "TCP, container to container via VXLAN (Gbit/s)" "$VX"
printf '%-44s %10s\n' "TCP, host to host on the underlay (Gbit/s)" "$UL"
printf '%-44s %10s\n' "VXLAN / underlay" "$(awk -v a="$VX" -v b="$UL" 'BEGIN {printf "%.2f", a/b}')"
printf '%-44s %10s\n' "TCP via VXLAN, bridge-nf-call-iptables=0" "$VN"
printf '%-44s %10s\n' "  its VXLAN / underlay" "$(awk -v a="$VN" -v b="$UL" 'BEGIN {if (a == "-") print "-"; else printf "%.2f", a/b}')"
printf '%-44s %10s\n' "overlay MTU (underlay 1500)" "$MTU"
printf '%-44s %10s\n' "VXLAN: mean packet on the underlay (bytes)" "$((vxb / (vxp > 0 ? vxp : 1)))"
} | results_table
if [ "${PERF:-0}" = 1 ]; then
    printf '%s\n' "$PROF_VX" | results_block "perf, VXLAN run (iperf3 processes, symbols >= 1.5% of their samples):"
    printf '%s\n' "$PROF_UL" | results_block "perf, underlay run (iperf3 processes, symbols >= 1.5% of their samples):"
fi
