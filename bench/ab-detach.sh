#!/usr/bin/env bash
# Two berth binaries side by side on a shared, noisy machine, for what a
# removal costs the caller: in one throwaway lab where both work on one
# state root, sample after sample alternating (the older first in odd
# samples), `network connect` and `network disconnect` of a running
# container (each binary its own containers, used in turn so that a
# connect never meets the veth its last disconnect left to the reaper),
# then `run -d -p` and `rm -f` of a container; prints the medians, NEW/OLD
# and the median of the ratios of paired samples.
#
#   sudo bench/ab-detach.sh OLD NEW [N]          (default 40)
#
# FILL=K first starts K containers (at most 1,100) on a network with
# embedded DNS, `dnsnet`, where `run -d -p` and `rm -f` then work too
# (issue 13, goal 5: a command beside ~1,000 DNS containers); FILL=0 (the
# default) runs them on the default bridge.
OLD=$1 NEW=$2 N=${3:-40} FILL=${FILL:-0}
[ "$FILL" -le 1100 ] || { echo "FILL=$FILL: at most 1,100 containers" >&2; exit 1; }
[ -x "$OLD" ] && [ -x "$NEW" ] || { echo "usage: sudo bench/ab-detach.sh OLD NEW [N]" >&2; exit 1; }
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
need_exectime
mount -t sysfs sysfs /sys
results_open ab-detach "bench/ab-detach.sh $*"
results_note "old: $OLD ($(sha256sum "$OLD" | cut -c1-12)), new: $NEW ($(sha256sum "$NEW" | cut -c1-12))"
[ "$FILL" = 0 ] || results_note "FILL=$FILL running containers on DNS network dnsnet, where run -d -p and rm -f work too"
W=$BENCH_TMP/ab; mkdir -p "$W"
"$OLD" network create abnet >/dev/null
"$OLD" run -d --name warm -p 7999:80 busybox sleep 3600 >/dev/null
NET=
if [ "$FILL" -gt 0 ]; then
    room_for_containers "$FILL"
    "$OLD" network create --subnet 10.72.0.0/16 dnsnet >/dev/null
    for k in $(seq 1 "$FILL"); do
        "$OLD" run -d --name "f$k" --network dnsnet busybox sleep 1d >/dev/null
    done
    NET="--network dnsnet"
fi
C=4 # containers per binary
for w in old new; do for k in $(seq 1 $C); do
    "$OLD" run -d --name "$w$k" busybox sleep 3600 >/dev/null
done; done
# each I: the two binaries for sample I, the older first in odd samples.
each() { if [ $(($1 % 2)) = 1 ]; then echo "old $OLD new $NEW"; else echo "new $NEW old $OLD"; fi; }
for i in $(seq 1 "$N"); do
    set -- $(each "$i")
    c=$((i % C + 1))
    for k in 1 3; do
        w=${!k}; b=${@:k+1:1}
        echo "$w connect $(t "$b" network connect abnet "$w$c")"
        echo "$w disconnect $(t "$b" network disconnect abnet "$w$c")"
    done
    for k in 1 3; do
        w=${!k}; b=${@:k+1:1}
        echo "$w run $(t "$b" run -d --name "r$w$i" $NET -p $((8000 + i * 2 + k)):80 busybox sleep 3600)"
    done
    for k in 1 3; do
        w=${!k}; b=${@:k+1:1}
        echo "$w rm $(t "$b" rm -f "r$w$i")"
    done
done >"$W/all"
awk '$1 == "old" {print $2, $3}' "$W/all" >"$W/old"
awk '$1 == "new" {print $2, $3}' "$W/all" >"$W/new"
# med METRIC WHICH: the median in ms of WHICH's samples of METRIC (µs).
med() { awk -v m="$1" '$1 == m {print $2}' "$W/$2" | sort -n | awk '{a[NR]=$1} END {x = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", x/1000}'; }
# paired METRIC: the median of new/old over the pairs of samples taken one
# right after the other (the k-th of each), robust to the load drifting.
paired() {
    paste <(awk -v m="$1" '$1 == m {print $2}' "$W/old") <(awk -v m="$1" '$1 == m {print $2}' "$W/new") |
        awk '{print $2 / $1}' | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'
}
cp "$W/all" "${RESULTS_FILE%.md}.samples"
{
printf '%-34s %9s %9s %8s %8s\n' "metric (median of $N, ms)" old new new/old paired
for m in connect disconnect run rm; do
    o=$(med $m old); n=$(med $m new)
    label=$m
    case $m in connect) label="network connect";; disconnect) label="network disconnect";; run) label="run -d -p";; rm) label="rm -f";; esac
    printf '%-34s %9s %9s %8s %8s\n' "$label" "$o" "$n" "$(awk -v o="$o" -v n="$n" 'BEGIN{printf "%.2f", n/o}')" "$(paired $m)"
done
} | results_table
