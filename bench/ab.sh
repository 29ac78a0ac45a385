#!/usr/bin/env bash
# Two berth binaries side by side on a shared, noisy machine: ROUNDS
# blocks of bench/ab-block.sh (each a fresh lab where both binaries work
# on one state root, sample after sample alternating: CNI VERSION, ADD and
# DEL with one published port, `run -d -p`, `rm -f`; N of each per
# binary), so that both see the same load; prints the medians of all
# samples, NEW/OLD, and the median of the ratios of paired samples.
#
#   sudo bench/ab.sh OLD NEW [ROUNDS] [N]        (defaults 5, 10)
OLD=$1 NEW=$2 ROUNDS=${3:-5} N=${4:-10}
[ -x "$OLD" ] && [ -x "$NEW" ] || { echo "usage: sudo bench/ab.sh OLD NEW [ROUNDS] [N]" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "benchmarks need root (they create namespaces): run with sudo" >&2; exit 1; }
source "$(dirname "$0")/results.sh"
results_open ab "bench/ab.sh $*"
results_note "old: $OLD ($(sha256sum "$OLD" | cut -c1-12)), new: $NEW ($(sha256sum "$NEW" | cut -c1-12))"
W=$(mktemp -d /tmp/berth-ab.XXXXXX)
trap 'cp "$W/all" "${RESULTS_FILE%.md}.samples" 2>/dev/null; rm -rf "$W"' EXIT
for r in $(seq 1 "$ROUNDS"); do
    bash "$(dirname "$0")/ab-block.sh" "$OLD" "$NEW" "$N" >>"$W/all" || { echo "block $r failed" >&2; exit 1; }
done
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
{
printf '%-34s %9s %9s %8s %8s\n' "metric (median of $((ROUNDS * N)), ms)" old new new/old paired
for m in version cni-add cni-del run rm; do
    o=$(med $m old); n=$(med $m new)
    label=$m
    case $m in version) label="CNI VERSION (process start)";; cni-add) label="CNI ADD, one port";; cni-del) label="CNI DEL";; run) label="run -d -p";; rm) label="rm -f";; esac
    printf '%-34s %9s %9s %8s %8s\n' "$label" "$o" "$n" "$(awk -v o="$o" -v n="$n" 'BEGIN{printf "%.2f", n/o}')" "$(paired $m)"
done
} | results_table
