#!/usr/bin/env bash
# Every command costs its own work, not the store's size (issue 13, goal
# 5), inside a throwaway lab: the medians of `run -d` on a DNS network,
# `rm -f`, `network inspect` (of the DNS network, which lists its running
# containers, and of another network with no members: only its own work)
# and a CNI ADD (+ DEL, untimed) with an empty
# store, then again as the store fills up with CNI attachments whose
# namespaces the runtime deleted without a DEL (as runtimes may) and, at
# each level, a tenth as many containers running on the DNS network (at
# most 1,000); the curve, one column per level. At the end, `ps -aq`
# reaps every dead attachment at once (one timed run: ms per attachment),
# then `ps -aq` again is timed like the others. Beside them, the kernel's
# floor at each level: one `ip` process creating a veth pair (its peer in
# another namespace) into dnsnet's bridge, up and mastered (deleted again,
# untimed): `run -d` on dnsnet pays that bridge's port count (a bridge
# walks its ports as one joins and comes up), whatever the store holds.
#
#   sudo bench/store.sh [LEVELS] [SAMPLES]     (defaults: 100,1000,10000 and 9)
#
# PERF=1 also profiles K more `run -d` + `rm -f` pairs on dnsnet with the
# store empty and at the last level (`perf record -a`, the berth
# processes' samples by object and by symbol): what grows with the store.
# STRACE=1 also runs the reap under `strace -c -f` and keeps the summary
# in the results file (the reap is then timed with strace's overhead).
# BERTH=path/to/berth compares another build (e.g. one before a change).
LEVELS=${1:-100,1000,10000}
LEVELS=${LEVELS//,/ }
K=${2:-9}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open store "bench/store.sh $*"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
mount -t sysfs sysfs /sys
W=$BENCH_TMP/store; mkdir -p "$W"
export CNI_PATH=/usr/lib/cni CNI_IFNAME=eth0
results_note "records: CNI attachments whose namespace was deleted without a DEL (netns deleted right after the ADD), plus running containers on DNS network dnsnet (a tenth of them, at most 1000)"

t() { "$EXECTIME" /dev/null /dev/null "$@"; } # µs of one process
cni_conf() { # NAME SUBNET BRIDGE
    printf '{"cniVersion":"1.0.0","name":"%s","type":"berth","bridge":"%s","ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]]}}\n' "$1" "$3" "$2"
}
cni_conf recs 10.64.0.0/14 cni-recs > "$W/recs.conf"
cni_conf probe 10.68.0.0/24 cni-probe > "$W/probe.conf"
cni() { # CMD ID CONF [OUT]
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 "$EXECTIME" "$3" "${4:-/dev/null}" "$BERTH" ||
        { echo "CNI $1 $2 failed" >&2; exit 1; }
}
"$BERTH" network create --subnet 10.72.0.0/16 -o com.docker.network.bridge.name=bstore dnsnet >/dev/null
ip netns add kfloor
ip netns add probe
cni ADD probe "$W/probe.conf" >/dev/null # creates network probe
cni DEL probe "$W/probe.conf" >/dev/null
"$BERTH" ps -aq >/dev/null

declare -A RES
measure() { # COLUMN: K samples of each command
    local col=$1 i a=() b=() c=() d=() e=() f=()
    local g=()
    for i in $(seq 1 "$K"); do
        f+=("$(t ip link add "kf$i" mtu 1500 master bstore up type veth peer "kf$i" netns kfloor)")
        ip link del "kf$i"
        a+=("$(t "$BERTH" run -d --name "m$i" --network dnsnet busybox sleep 1d)")
        b+=("$(t "$BERTH" network inspect dnsnet)")
        g+=("$(t "$BERTH" network inspect probe)")
        c+=("$(t "$BERTH" rm -f "m$i")")
        d+=("$(cni ADD probe "$W/probe.conf")")
        cni DEL probe "$W/probe.conf" >/dev/null
    done
    RES[run,$col]=$(printf '%s\n' "${a[@]}" | median_us)
    RES[inspect,$col]=$(printf '%s\n' "${b[@]}" | median_us)
    RES[inspect1,$col]=$(printf '%s\n' "${g[@]}" | median_us)
    RES[rm,$col]=$(printf '%s\n' "${c[@]}" | median_us)
    RES[add,$col]=$(printf '%s\n' "${d[@]}" | median_us)
    RES[floor,$col]=$(printf '%s\n' "${f[@]}" | median_us)
}
profile() { # NAME: K run -d + rm -f pairs on dnsnet under perf record -a
    [ "${PERF:-0}" = 1 ] || return 0
    local i
    perf record -q -a -o "$W/$1.perf" -- bash -c '
        for i in $(seq 1 "$2"); do
            "$1" run -d --name "p$i" --network dnsnet busybox sleep 1d >/dev/null
            "$1" rm -f "p$i" >/dev/null
        done' profile "$BERTH" "$K" 2>/dev/null
    PROFILES+=("$1")
}
PROFILES=()
command -v perf >/dev/null || [ "${PERF:-0}" != 1 ] || { echo "PERF=1 needs perf (Debian: linux-perf)" >&2; exit 1; }
echo "empty store: $K samples each (after an untimed round: the first start of the resolver, cold caches)..." >&2
measure warm
measure 0
profile empty
have=0 running=0
for n in $LEVELS; do
    echo "filling to $n dead attachments..." >&2
    for i in $(seq $((have + 1)) "$n"); do
        ip netns add "r$i"
        cni ADD "r$i" "$W/recs.conf" >/dev/null
        ip netns del "r$i"
    done
    want=$((n / 10)); [ "$want" -gt 1000 ] && want=1000
    for i in $(seq $((running + 1)) "$want"); do
        "$BERTH" run -d --name "d$i" --network dnsnet busybox sleep 1d >/dev/null
    done
    have=$n running=$want
    echo "n=$n: $K samples each..." >&2
    measure "$n"
done
profile "n=${LEVELS##* }"
# Everything recorded is still there (nothing reaped it meanwhile).
recorded=$("$BERTH" system info --format json | jq .Containers)
results_note "records before the reap: $recorded containers (dead attachments + $running running + the probe)"
if [ "${STRACE:-0}" = 1 ]; then
    strace -c -f -o "$W/strace" "$BERTH" ps -aq >/dev/null
    results_note "the reap under strace -c -f (top 12 by time):"
    results_note "$(head -n 17 "$W/strace" | sed 's/^/    /')"
    reap_us=-
else
    reap_us=$(t "$BERTH" ps -aq)
fi
left=$("$BERTH" system info --format json | jq .Containers)
[ "$left" -le $((running + 1)) ] || { echo "the reap left $left records" >&2; exit 1; }
ps_us=()
for i in $(seq 1 "$K"); do ps_us+=("$(t "$BERTH" ps -aq)"); done
last=${LEVELS##* }
{
printf 'berth with a growing store (medians of %s, ms; ratio = n=%s / empty)\n' "$K" "$last"
printf '%-36s %9s' metric empty
for n in $LEVELS; do printf ' %9s' "n=$n"; done
printf ' %8s\n' ratio
for m in run:"run -d on dnsnet" floor:"  kernel: veth into dnsnet's bridge" inspect:"network inspect dnsnet" inspect1:"  network inspect probe (no members)" rm:"rm -f" add:"CNI ADD (other network)"; do
    key=${m%%:*}
    printf '%-36s %9s' "${m#*:}" "${RES[$key,0]}"
    for n in $LEVELS; do printf ' %9s' "${RES[$key,$n]}"; done
    awk -v a="${RES[$key,0]}" -v b="${RES[$key,$last]}" 'BEGIN{printf " %7.2fx\n", b/a}'
done
if [ "$reap_us" != - ]; then
    printf '%-36s %9s %9s (%s ms per attachment)\n' "ps -aq reaping $last dead attachments" - "$(awk -v u="$reap_us" 'BEGIN{printf "%.1f", u/1000}')" "$(awk -v u="$reap_us" -v n="$last" 'BEGIN{printf "%.3f", u/1000/n}')"
fi
printf '%-36s %9s %9s\n' "ps -aq after (with $running running)" - "$(printf '%s\n' "${ps_us[@]}" | median_us)"
} | results_table
for p in "${PROFILES[@]}"; do
    perf_flat "$W/$p.perf" berth | results_block "perf, $K run -d + rm -f pairs on dnsnet, $p (berth processes, relative shares):"
done
