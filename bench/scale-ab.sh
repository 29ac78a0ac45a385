#!/usr/bin/env bash
# Two berth binaries side by side at scale (issue 13, goals 3 and 4), the
# focused part of bench/scale.sh that takes minutes, not an hour: which
# change made `network create` and `run -d` on a DNS network cost their
# own work, not the number of networks or containers.
#
#   sudo OLD=/path/berth-old NEW=target/release/berth bench/scale-ab.sh [NETS] [CONTAINERS]
#
# - `network create` with n = 1 and NETS (1000) bridge networks in the
#   store, each a /24 of its own: one lab, one store, the two binaries'
#   samples interleaved (K each at both points), so the others' load hits
#   both alike.
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

# --- network create, both binaries on one store.
"$NEW" run -d --name warm busybox sleep 1d >/dev/null
"$NEW" rm -f warm >/dev/null
made=0
create_window() { # LABEL: K timed creates by each binary, interleaved
    local i o=() n=()
    for i in $(seq 1 "$K"); do
        made=$((made + 1)); o+=("$(t "$OLD" network create --subnet "$(net_subnet $made)" "n$made")")
        made=$((made + 1)); n+=("$(t "$NEW" network create --subnet "$(net_subnet $made)" "n$made")")
    done
    R[old,net,$1]=$(med "${o[@]}") R[new,net,$1]=$(med "${n[@]}")
}
echo "network create: $NETS networks..." >&2
create_window 1
while [ "$made" -lt $((NETS - 2 * K)) ]; do
    made=$((made + 1))
    "$NEW" network create --subnet "$(net_subnet $made)" "n$made" >/dev/null
done
create_window "$NETS"
seq 1 "$made" | sed 's/^/n/' | xargs -r -n 100 "$NEW" network rm >/dev/null

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
echo "run -d: $CS containers, old binary..." >&2
run_series old "$OLD" 30
echo "run -d: $CS containers, new binary..." >&2
run_series new "$NEW" 31

{
printf 'old vs new berth at scale (medians of %s, ms; ratio = last point / first point)\n' "$K"
printf '%-34s %10s %10s %8s\n' metric "n=1" "n=$NETS" ratio
for b in old new; do
    printf '%-34s %10s %10s %8s\n' "network create ($b)" "${R[$b,net,1]}" "${R[$b,net,$NETS]}" "$(ratio "${R[$b,net,1]}" "${R[$b,net,$NETS]}")"
done
printf '%-34s %10s %10s %8s\n' metric "n=10" "n=$CS" ratio
for b in old new; do
    for k in dns bridge; do
        printf '%-34s %10s %10s %8s\n' "run -d, $k network ($b)" "${R[$b,$k,10]:-}" "${R[$b,$k,$((CS - K))]:-}" "$(ratio "${R[$b,$k,10]:-0}" "${R[$b,$k,$((CS - K))]:-}")"
    done
done
} | results_table
