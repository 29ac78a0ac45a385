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
ab_table "$W" "$((ROUNDS * N))" "version=CNI VERSION (process start)" "cni-add=CNI ADD, one port" "cni-del=CNI DEL" "run=run -d -p" "rm=rm -f" | results_table
