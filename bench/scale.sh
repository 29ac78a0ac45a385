#!/usr/bin/env bash
# How `berth run -d` scales with the number of containers on one network,
# on a user-defined network (embedded DNS on) and on the default bridge (no
# DNS), inside a throwaway lab. Prints the curve: the median of 15 runs at
# n=1..15, then at each level of LEVELS (15 runs after filling the network
# to that many containers), and the ratio of the last level to n=1..15.
#
#   sudo bench/scale.sh [LEVELS]           (default "100 1000")
#
# A Linux bridge takes at most 1024 ports, so a level above ~1000 needs
# containers spread over several networks (bench/store.sh and
# bench/memory.sh do); this one measures one network.
LEVELS=${1:-100 1000}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open scale "bench/scale.sh $*"
results_note "no peer: berth at n=1..15 against berth at each level, same run"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
timed_runs() { # TAG NET FROM TO: µs of each `run -d`, one per line
    local i
    for i in $(seq "$3" "$4"); do
        "$EXECTIME" /dev/null /dev/null "$BERTH" run -d --name "$1$i" --network "$2" busybox sleep 1d
    done
}
"$BERTH" network create --subnet 10.46.0.0/16 dnsnet >/dev/null
rows=()
last=${LEVELS##* }
for net in dnsnet bridge; do
    echo "$net: n=1..15..." >&2
    first=$(timed_runs "$net-" "$net" 1 15 | median_us)
    row=$(printf '%-24s %9s' "run -d on $net" "$first")
    have=15
    for n in $LEVELS; do
        echo "$net: filling to $n..." >&2
        [ "$n" -gt "$have" ] && timed_runs "$net-" "$net" $((have + 1)) "$n" >/dev/null
        at=$(timed_runs "$net-" "$net" $((n + 1)) $((n + 15)) | median_us)
        have=$((n + 15))
        row+=$(printf ' %9s' "$at")
    done
    row+=$(awk -v a="$first" -v b="$at" 'BEGIN{printf " %7.2fx", b/a}')
    if [ "$net" = dnsnet ]; then
        snap=$(stat -c %s "$BERTH_ROOT/run/dns/snapshot.json")
        journal=$(stat -c %s "$BERTH_ROOT/run/dns/snapshot.journal" 2>/dev/null || echo 0)
        results_note "the embedded DNS with $have containers on dnsnet: snapshot $((snap / 1024)) KB, journal $((journal / 1024)) KB (a change appends a line; the snapshot is rewritten when the journal reaches its size)"
    fi
    rows+=("$row")
    # The next network starts from an empty host.
    "$BERTH" ps -aq | xargs -r "$BERTH" rm -f >/dev/null
done
{
printf 'berth run -d at scale (medians of 15, ms; ratio = n=%s / n=1..15)\n%-24s %9s' "$last" metric "n=1..15"
for n in $LEVELS; do printf ' %9s' "n=$n"; done
printf ' %8s\n' ratio
printf '%s\n' "${rows[@]}"
} | results_table
