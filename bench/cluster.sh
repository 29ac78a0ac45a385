#!/usr/bin/env bash
# Overlay convergence at cluster size, in one throwaway lab: H berth hosts
# (network namespaces h1..hH, each with its own BERTH_ROOT and its own
# `berth agent`) on an underlay bridge, one etcd member on the underlay, C
# containers per host on one overlay network. Prints:
#
#   - convergence (K samples, p50 / p99 / max): from the start of `berth
#     run -d` on one host until a container on another host can reach the
#     new one, i.e. the later of (a) the run returning and (b) the other
#     host's VXLAN device holding the new container's neighbour entry
#     (`ip -ts monitor neigh`: the entry is what makes it reachable; a ping
#     from that host's first container checks every sample);
#   - the agents' CPU time during the samples (all agents, per sample) and
#     their memory (RSS, largest);
#   - etcd's gRPC request rate during the samples (its /metrics);
#   - a host killed (its agent gone, its lease no longer renewed): the time
#     until every other host has dropped its endpoints, with the lease TTL.
#
# No peer: Docker's overlay needs swarm mode; flannel's figure of merit is
# the same (time for a new pod to be reachable from other nodes).
#
#   sudo bench/cluster.sh [H] [C] [K]      (defaults 12 40 50)
H=${1:-12}
C=${2:-40}
K=${3:-50}
TTL=${BERTH_CLUSTER_TTL:-5}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open cluster "bench/cluster.sh $*"
results_note "$H hosts x $C containers on one overlay network, one etcd member, lease TTL $TTL s; timestamps from date and ip -ts monitor (same clock)"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
for t in etcd etcdctl curl; do
    command -v $t >/dev/null || { echo "$t is missing: run scripts/deps" >&2; exit 1; }
done

# The underlay: a bridge with etcd's address; H hosts plugged into it.
ip link add under type bridge && ip link set under up
ip addr add 192.0.2.1/24 dev under
STORE=etcd://192.0.2.1:2379
for i in $(seq 1 "$H"); do
    ip netns add h$i
    ip link add ul-h$i type veth peer ul0 netns h$i
    ip link set ul-h$i master under up
    ip -n h$i link set lo up
    ip -n h$i addr add 192.0.2.$((10 + i))/24 dev ul0
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
on() {
    local i=$1; shift
    BERTH_ROOT=/run/bench-h$i BERTH_STORE=$STORE BERTH_CLUSTER_TTL=$TTL nsenter --net=/run/netns/h$i "$@"
}
declare -A agent
for i in $(seq 1 "$H"); do
    # Not through `on`: $! must be the agent itself (nsenter execs it),
    # whose CPU and memory are measured and which is killed below.
    BERTH_ROOT=/run/bench-h$i BERTH_STORE=$STORE BERTH_CLUSTER_TTL=$TTL \
        nsenter --net=/run/netns/h$i "$BERTH" agent >"$BENCH_TMP/agent$i.log" 2>&1 &
    agent[$i]=$!
    bench_pids+=($!)
done
on 1 "$BERTH" network create -d overlay --subnet 198.18.0.0/16 ov >/dev/null
VX=vx-$(on 1 "$BERTH" network inspect -f '{{.Id}}' ov | cut -c1-12)

# C containers per host, the hosts in parallel (their reservations race in
# etcd, as a cluster's would).
fills=()
for i in $(seq 1 "$H"); do
    (for j in $(seq 1 "$C"); do
        on $i "$BERTH" run -d --name c$i-$j --network ov busybox sleep 3600 >/dev/null
    done) &
    fills+=($!)
done
for p in "${fills[@]}"; do wait "$p"; done
entries() { ip -n h$1 neigh show dev "$VX" nud permanent 2>/dev/null | grep -c lladdr || true; }
want=$(((H - 1) * C))
for _ in $(seq 600); do
    ok=1
    for i in $(seq 1 "$H"); do [ "$(entries $i)" -ge "$want" ] || { ok=0; break; }; done
    [ $ok = 1 ] && break
    sleep 0.2
done
[ $ok = 1 ] || { echo "the hosts did not converge on $want entries each" >&2; exit 1; }

ticks() { local t=0 p; for p in "${agent[@]}"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
requests() { curl -s http://192.0.2.1:2379/metrics | awk '/^grpc_server_handled_total/ {s += $2} END {print s + 0}'; }
epoch() { date -d "$1" +%s.%N; }

# Samples: host A runs a container, host B (the next one) watches for it.
conv=() runs=()
T0=$(date +%s.%N); TICKS0=$(ticks); REQ0=$(requests)
for k in $(seq 1 "$K"); do
    a=$(((k - 1) % H + 1)); b=$((a % H + 1))
    mon=$BENCH_TMP/mon$k
    ip -n h$b -ts monitor neigh dev "$VX" >"$mon" 2>/dev/null &
    mpid=$!
    sleep 0.2
    t0=$(date +%s.%N)
    on $a "$BERTH" run -d --name s$k --network ov busybox sleep 3600 >/dev/null
    t1=$(date +%s.%N)
    ip=$(on $a "$BERTH" inspect -f '{{(index .NetworkSettings.Networks "ov").IPAddress}}' s$k)
    for _ in $(seq 100); do grep -q "^\[[^]]*\] $ip .*lladdr" "$mon" && break; sleep 0.05; done
    kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null || true
    stamp=$(grep -m1 "^\[[^]]*\] $ip .*lladdr" "$mon" | sed 's/^\[\([^]]*\)\].*/\1/')
    [ -n "$stamp" ] || { echo "sample $k: host $b never got $ip" >&2; exit 1; }
    tn=$(epoch "$stamp")
    on $b "$BERTH" exec c$b-1 busybox ping -c1 -W2 "$ip" >/dev/null ||
        { echo "sample $k: c$b-1 cannot reach $ip" >&2; exit 1; }
    conv+=("$(awk -v a="$t0" -v b="$t1" -v c="$tn" 'BEGIN {e = (b > c) ? b : c; printf "%.1f", (e - a) * 1000}')")
    runs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')")
done
T1=$(date +%s.%N); TICKS1=$(ticks); REQ1=$(requests)
rss=$(for p in "${agent[@]}"; do awk '/VmRSS/ {print $2}' /proc/$p/status; done | sort -n | tail -1)

# A host dies: its agent killed, so its lease expires after at most TTL.
dead=$H
kill -9 "${agent[$dead]}"
td0=$(date +%s.%N)
for _ in $(seq 600); do
    left=0
    for i in $(seq 1 $((H - 1))); do
        n=$(bridge -n h$i fdb show dev "$VX" 2>/dev/null | grep -c "dst 192.0.2.$((10 + dead)) " || true)
        left=$((left + n))
    done
    [ $left = 0 ] && break
    sleep 0.1
done
td1=$(date +%s.%N)
[ $left = 0 ] || {
    echo "the hosts kept host $dead's entries:" >&2
    bridge -n h1 fdb show dev "$VX" >&2
    ETCDCTL_API=3 etcdctl --endpoints http://192.0.2.1:2379 get --prefix /berth/v1/ --keys-only >&2
    tail -5 "$BENCH_TMP/agent1.log" >&2
    exit 1
}

pct() { sort -g | awk -v q="$1" '{a[NR]=$1} END {i = int(NR * q + 0.999999); if (i < 1) i = 1; printf "%.1f", a[i]}'; }
dur=$(awk -v a="$T0" -v b="$T1" 'BEGIN {print b - a}')
hz=$(getconf CLK_TCK)
{
printf '%-58s %10s\n' "metric ($H hosts x $C containers, K=$K samples)" "value"
printf '%-58s %10s\n' "convergence p50 (ms)" "$(printf '%s\n' "${conv[@]}" | pct 0.5)"
printf '%-58s %10s\n' "convergence p99 (ms)" "$(printf '%s\n' "${conv[@]}" | pct 0.99)"
printf '%-58s %10s\n' "convergence max (ms)" "$(printf '%s\n' "${conv[@]}" | pct 1)"
printf '%-58s %10s\n' "berth run -d p50 (ms)" "$(printf '%s\n' "${runs[@]}" | pct 0.5)"
printf '%-58s %10s\n' "agents' CPU, all $H, per sample (ms)" "$(awk -v t=$((TICKS1 - TICKS0)) -v hz="$hz" -v k="$K" 'BEGIN {printf "%.1f", t / hz * 1000 / k}')"
printf '%-58s %10s\n' "agents' CPU, all $H, share of one core during samples (%)" "$(awk -v t=$((TICKS1 - TICKS0)) -v hz="$hz" -v d="$dur" 'BEGIN {printf "%.1f", t / hz / d * 100}')"
printf '%-58s %10s\n' "agent RSS, largest (MiB)" "$(awk -v r="$rss" 'BEGIN {printf "%.1f", r / 1024}')"
printf '%-58s %10s\n' "etcd gRPC requests per second during samples" "$(awk -v a="$REQ0" -v b="$REQ1" -v d="$dur" 'BEGIN {printf "%.0f", (b - a) / d}')"
printf '%-58s %10s\n' "dead host's endpoints dropped everywhere after (s; TTL $TTL)" "$(awk -v a="$td0" -v b="$td1" 'BEGIN {printf "%.1f", b - a}')"
} | results_table
