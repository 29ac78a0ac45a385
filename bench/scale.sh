#!/usr/bin/env bash
# How `berth run -d` scales with the number of containers on one network,
# on a user-defined network (embedded DNS on) and on the default bridge (no
# DNS), inside a throwaway lab. Prints one table, the curve: the median of
# 15 runs at n=1..15, at n=100 and n=1000 (those below M) and at n=M, and
# the ratio of the last to the first. (A Linux bridge takes at most 1,024
# ports: M above ~1,000 needs more networks than this script makes.)
#
#   sudo bench/scale.sh [M]            (default 300)
M=${1:-300}
POINTS=()
for p in 100 1000; do [ "$p" -lt "$M" ] && POINTS+=("$p"); done
POINTS+=("$M")
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open scale "bench/scale.sh $*"
results_note "no peer: berth at n=1..15 against berth at n=$M, same run"
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
for net in dnsnet bridge; do
    echo "$net: $M containers..." >&2
    first=$(timed_runs "$net-" "$net" 1 15 | median_us)
    curve=() n=15
    for p in "${POINTS[@]}"; do
        # Fill up to n=p (untimed), then time the next 15.
        [ "$p" -gt "$n" ] && { timed_runs "$net-" "$net" $((n + 1)) "$p" >/dev/null; n=$p; }
        last=$(timed_runs "$net-" "$net" $((n + 1)) $((n + 15)) | median_us)
        curve+=("$(printf '%10s' "$last")") n=$((n + 15))
    done
    if [ "$net" = dnsnet ]; then
        snap=$(stat -c %s "$BERTH_ROOT/run/dns/snapshot.json")
        results_note "the embedded DNS's snapshot with $((M + 15)) containers on dnsnet: $((snap / 1024)) KB (rewritten whole on every change)"
    fi
    # The next network starts from an empty host.
    "$BERTH" ps -aq | xargs -r "$BERTH" rm -f >/dev/null
    rows+=("$(printf '%-40s %10s %s %8s' "run -d on $net (n=1..15 -> n=$M)" "$first" "${curve[*]}" "$(awk -v a="$first" -v b="$last" 'BEGIN{printf "%.2fx", b/a}')")")
done
{
printf 'berth run -d at scale (medians of 15, ms)\n%-40s %10s' metric "n=1..15"
for p in "${POINTS[@]}"; do printf ' %10s' "n=$p"; done
printf ' %8s\n' ratio
printf '%s\n' "${rows[@]}"
} | results_table
