#!/usr/bin/env bash
# Two berth binaries side by side at scale (issue 13, goals 3 and 4), the
# focused part of bench/scale.sh that takes minutes, not an hour: which
# change made `network create` and `run -d` on a DNS network cost their
# own work, not the number of networks or containers.
#
#   sudo OLD=/path/berth-old NEW=target/release/berth bench/scale-ab.sh [NETS] [CONTAINERS]
#   (CONTAINERS = 0: only `network create`)
#
# - `network create` with n = 1 and NETS (1000) bridge networks in the
#   store, each a /24 of its own: one lab, a state root per binary (their
#   store schemas may differ: an older berth refuses a newer store), one
#   binary at a time so that the kernel holds only its bridges, in the
#   order old, new, old, new (each binary's NETS networks removed before
#   the next): K samples at each point; a drift of the others' load
#   shows as a difference between a binary's two rounds.
# - `run -d` on one DNS network at n = 10 and CONTAINERS (1000): one state
#   root per binary (each starts its own resolver, whose reload is part of
#   what is measured), the old binary's first, K samples at each point,
#   each beside a `run -d` on the default `bridge` network (no DNS; it
#   holds only these samples): what grows on both is not the DNS's.
# Medians of K (15), ms, with the ratio last point / first point.
NETS=${1:-1000}
CS=${2:-1000}
K=${K:-15}
[ -n "${BENCH_INSIDE:-}" ] || export BENCH_PID_MAX=${BENCH_PID_MAX:-$(cat /proc/sys/kernel/pid_max)}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
cd "$(dirname "$0")/.."
OLD=${OLD:?OLD=path of the old berth binary}
NEW=${NEW:-$PWD/target/release/berth}
BERTH=$NEW
results_open scale-ab "bench/scale-ab.sh $*"
results_note "old: $OLD ($(stat -c %y "$OLD" | cut -d. -f1)); new: $NEW ($(stat -c %y "$NEW" | cut -d. -f1))"
need_exectime
room_for_containers "$CS"
declare -A R

# --- network create: each binary alone on a state root of its own, twice.
create_round() { # KEY BINARY ROUND
    local key=$1 b=$2 i made=0 s=()
    export BERTH_ROOT=$BENCH_TMP/net-$key-$3
    "$b" run -d --name warm busybox sleep 1d >/dev/null
    "$b" rm -f warm >/dev/null
    for i in $(seq 1 "$K"); do # n = 1: each network removed again
        s+=("$(t "$b" network create --subnet "$(net_subnet 1)" n1)")
        "$b" network rm n1 >/dev/null
    done
    R[$key,net,1,$3]=$(med "${s[@]}") s=()
    while [ "$made" -lt $((NETS - K)) ]; do
        made=$((made + 1))
        "$b" network create --subnet "$(net_subnet $made)" "n$made" >/dev/null
    done
    for i in $(seq 1 "$K"); do
        made=$((made + 1)); s+=("$(t "$b" network create --subnet "$(net_subnet $made)" "n$made")")
    done
    R[$key,net,$NETS,$3]=$(med "${s[@]}")
    seq 1 "$made" | sed 's/^/n/' | xargs -r -n 100 "$b" network rm >/dev/null
}
echo "network create: $NETS networks, old, new, old, new..." >&2
for round in 1 2; do
    create_round old "$OLD" "$round"
    create_round new "$NEW" "$round"
done

# --- run -d on one DNS network: a fresh state root per binary.
run_series() { # KEY BINARY SUBNET-OCTET
    local key=$1 b=$2 have=0 i s=()
    export BERTH_ROOT=$BENCH_TMP/berth-$key
    "$b" network create --subnet "10.$3.0.0/16" -o com.docker.network.bridge.name="bab-$key" dnsnet >/dev/null
    window() { # N: fill to N containers, then K timed
        while [ "$have" -lt "$1" ]; do
            if [ $((have % 100)) = 0 ]; then pid_guard || return 1; fi
            "$b" run -d --name "c$have" --network dnsnet busybox sleep 1d >/dev/null
            have=$((have + 1))
        done
        s=() p=()
        for i in $(seq 1 "$K"); do
            s+=("$(t "$b" run -d --name "s$1-$i" --network dnsnet busybox sleep 1d)")
            p+=("$(t "$b" run -d --name "p$1-$i" busybox sleep 1d)")
        done
        have=$((have + 2 * K))
        R[$key,dns,$1]=$(med "${s[@]}") R[$key,bridge,$1]=$(med "${p[@]}")
    }
    window 10 && window $((CS - K))
    # Every container of this series goes (untimed) before the next.
    "$b" ps -aq | xargs -r -n 200 "$b" rm -f >/dev/null
    "$b" network rm dnsnet >/dev/null
}
if [ "$CS" -gt 0 ]; then # CONTAINERS = 0: network create only
    echo "run -d: $CS containers, old binary..." >&2
    run_series old "$OLD" 30
    echo "run -d: $CS containers, new binary..." >&2
    run_series new "$NEW" 31
fi

{
printf 'old vs new berth at scale (medians of %s, ms; ratio = last point / first point)\n' "$K"
printf '%-34s %10s %10s %8s\n' metric "n=1" "n=$NETS" ratio
for round in 1 2; do
    for b in old new; do
        printf '%-34s %10s %10s %8s\n' "network create ($b, round $round)" "${R[$b,net,1,$round]}" "${R[$b,net,$NETS,$round]}" "$(ratio "${R[$b,net,1,$round]}" "${R[$b,net,$NETS,$round]}")"
    done
done
if [ "$CS" -gt 0 ]; then
    printf '%-34s %10s %10s %8s\n' metric "n=10" "n=$CS" ratio
    for b in old new; do
        for k in dns bridge; do
            printf '%-34s %10s %10s %8s\n' "run -d, $k network ($b)" "${R[$b,$k,10]:-}" "${R[$b,$k,$((CS - K))]:-}" "$(ratio "${R[$b,$k,10]:-0}" "${R[$b,$k,$((CS - K))]:-}")"
        done
    done
fi
} | results_table
