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
cp "$W/all" "${RESULTS_FILE%.md}.samples"
ab_table "$W" "$N" "connect=network connect" "disconnect=network disconnect" "run=run -d -p" "rm=rm -f" | results_table
