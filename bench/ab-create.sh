#!/usr/bin/env bash
# `network create` of two berth binaries side by side (issue 13, goal 3):
# at n = 1 and at n = N networks on the host, K samples of each, the two
# binaries alternating sample by sample so that both see the same load.
# Each binary works in a lab of its own (a binary whose firewall skeleton
# differs re-renders berth's tables, so two versions cannot share one):
# both labs are filled alike, network by network. Prints the medians, NEW/OLD
# and the median of the paired ratios at each point, and each binary's
# n = N / n = 1 (the goal: within 1.3x). Run it on a quiet machine.
#
#   sudo bench/ab-create.sh OLD NEW [N] [K]        (defaults 1000, 40)
OLD=$1 NEW=$2 N=${3:-1000} K=${4:-40}
if [ "$OLD" = __hold ]; then
    # One lab that waits: "ROOT TMP" to file $NEW, then sleeps until the
    # driver below kills it (the PID namespace ends everything in it).
    source "$(dirname "$0")/lab.sh"
    echo "$BERTH_ROOT $BENCH_TMP" >"$NEW.tmp" && mv "$NEW.tmp" "$NEW"
    exec sleep infinity
fi
[ -x "$OLD" ] && [ -x "$NEW" ] || { echo "usage: sudo bench/ab-create.sh OLD NEW [N] [K]" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "benchmarks need root (they create namespaces): run with sudo" >&2; exit 1; }
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/results.sh
EXECTIME=${EXECTIME:-$PWD/target/release/exectime}
[ -x "$EXECTIME" ] || { echo "build the bench tools first: cargo build --release" >&2; exit 1; }
results_open ab-create "bench/ab-create.sh $*"
results_note "old: $OLD ($(sha256sum "$OLD" | cut -c1-12)), new: $NEW ($(sha256sum "$NEW" | cut -c1-12))"
# The kernel tears removed network namespaces down in the background
# (a worker named ...+netns), holding RTNL for seconds after a lab with
# 1,000 bridges: wait until it has been idle for 3 s (at most 5 min).
idle=0
for _ in $(seq 300); do
    if ps -e -o comm= | grep -q '+netns$'; then idle=0; else idle=$((idle + 1)); fi
    [ "$idle" -ge 3 ] && break
    sleep 1
done
W=$(mktemp -d /tmp/berth-abc.XXXXXX)
declare -A BIN=([old]=$OLD [new]=$NEW) PID ROOT TMP
export BENCH_HOST_NETNS
BENCH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
cleanup() {
    for s in old new; do
        if [ -n "${PID[$s]:-}" ]; then kill -9 "${PID[$s]}" 2>/dev/null || true; fi
    done
    sleep 1
    for s in old new; do
        if [ -n "${TMP[$s]:-}" ]; then rm -rf "${TMP[$s]}"; fi
    done
    cp "$W/all" "${RESULTS_FILE%.md}.samples" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
for s in old new; do
    unshare --net --mount --pid --fork --mount-proc --propagation private \
        env BENCH_INSIDE=1 bash "$0" __hold "$W/$s.lab" >/dev/null 2>&1 &
    u=$!
    for _ in $(seq 600); do [ -s "$W/$s.lab" ] && break; sleep 0.1; done
    read -r ROOT[$s] TMP[$s] <"$W/$s.lab"
    PID[$s]=$(pgrep -P "$u" | head -1)
done
# inlab S CMD...: CMD in lab S (its network and mount namespaces).
inlab() { nsenter -t "${PID[$1]}" -n -m env BERTH_ROOT="${ROOT[$1]}" "${@:2}"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
subnet() { echo "10.$((200 + $1 / 256)).$(($1 % 256)).0/24"; }
made=0
window() { # METRIC: K samples of each binary, alternating which goes first
    local i s order
    for i in $(seq 1 "$K"); do
        made=$((made + 1))
        if [ $((i % 2)) = 1 ]; then order="old new"; else order="new old"; fi
        for s in $order; do
            echo "$s $1 $(inlab "$s" "$EXECTIME" /dev/null /dev/null "${BIN[$s]}" network create --subnet "$(subnet $made)" "n$made")" >>"$W/all"
        done
    done
}
for s in old new; do inlab "$s" "${BIN[$s]}" network ls >/dev/null; done # sets the host up
window n1
echo "filling both labs to $N networks..." >&2
while [ "$made" -lt $((N - K)) ]; do
    made=$((made + 1))
    for s in old new; do inlab "$s" "${BIN[$s]}" network create --subnet "$(subnet $made)" "n$made" >/dev/null; done
done
for s in old new; do
    results_note "$s before the last window: $(inlab "$s" "${BIN[$s]}" network ls -q | wc -l) networks, $(inlab "$s" ip -4 route show table main | wc -l) IPv4 routes in the main table"
done
window nN
{
    ab_table "$W" "$K" "n1=network create, n = 1..$K" "nN=network create, n = $((N - K + 1))..$N"
    for s in old new; do
        a=$(awk -v s="$s" '$1 == s && $2 == "n1" {print $3}' "$W/all" | median)
        b=$(awk -v s="$s" '$1 == s && $2 == "nN" {print $3}' "$W/all" | median)
        echo "$s: n = $N / n = 1: $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", b / a}')"
    done
} | results_table
