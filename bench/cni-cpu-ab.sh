#!/usr/bin/env bash
# Two berth binaries as CNI plugins, ADD after ADD then DEL after DEL,
# alternating (the older first in even samples), on one state root in one
# lab: each sample's wall time (exectime) and its CPU time and page faults
# (`perf stat`: task-clock, page-faults). On a loaded machine the wall time
# swings with the others' work; the CPU time much less, and the median of
# paired ratios (new/old of samples taken one right after the other) less
# again. Prints the medians and the paired ratios.
#
#   sudo bench/cni-cpu-ab.sh OLD NEW [N]        (default 40; needs perf)
OLD=$1 NEW=$2 N=${3:-40}
[ -x "$OLD" ] && [ -x "$NEW" ] || { echo "usage: sudo bench/cni-cpu-ab.sh OLD NEW [N]" >&2; exit 1; }
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 1; }
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open cni-cpu-ab "bench/cni-cpu-ab.sh $*"
results_note "old: $OLD ($(sha256sum "$OLD" | cut -c1-12)), new: $NEW ($(sha256sum "$NEW" | cut -c1-12))"
need_exectime
mount -t sysfs sysfs /sys
W=$BENCH_TMP/cpu; mkdir -p "$W"
export CNI_PATH=/usr/lib/cni CNI_IFNAME=eth0
conf() { printf '{"cniVersion":"1.0.0","name":"cpu","type":"berth","bridge":"cni-cpu","ipam":{"type":"host-local","ranges":[[{"subnet":"10.79.0.0/16"}]]},"runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]}}\n' "$1"; }
one() { # WHICH BINARY CMD ID PORT: appends "WHICH CMD WALL_US CPU_MS FAULTS"
    conf "$5" >"$W/c-$4"
    local wall
    wall=$(CNI_COMMAND=$3 CNI_CONTAINERID=$4 CNI_NETNS=/run/netns/$4 perf stat -x, -o "$W/stat" \
        -e task-clock,page-faults "$EXECTIME" "$W/c-$4" /dev/null "$2") || { echo "berth $3 $4 failed" >&2; exit 1; }
    echo "$1 $3 $wall $(grep task-clock "$W/stat" | cut -d, -f1) $(grep page-faults "$W/stat" | cut -d, -f1)" >>"$W/all"
}
ip netns add warm; conf 19998 | CNI_COMMAND=ADD CNI_CONTAINERID=warm CNI_NETNS=/run/netns/warm "$OLD" >/dev/null
for i in $(seq 1 "$N"); do ip netns add "o$i"; ip netns add "n$i"; done
for cmd in ADD DEL; do
    for i in $(seq 1 "$N"); do
        if [ $((i % 2)) = 0 ]; then
            one old "$OLD" $cmd "o$i" $((20000 + i)); one new "$NEW" $cmd "n$i" $((30000 + i))
        else
            one new "$NEW" $cmd "n$i" $((30000 + i)); one old "$OLD" $cmd "o$i" $((20000 + i))
        fi
    done
done
med() { sort -g | awk '{a[NR]=$1} END {x = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", x}'; }
col() { awk -v w="$1" -v c="$2" -v k="$3" '$1 == w && $2 == c {print $k}' "$W/all"; }
paired() { paste <(col old "$1" "$2") <(col new "$1" "$2") | awk '{print $2 / $1}' | med; }
{
printf '%-10s %10s %10s %8s %9s %9s %8s %8s %8s\n' "median of $N" "wall old" "wall new" paired "CPU old" "CPU new" paired "faults" "faults"
for c in ADD DEL; do
    printf '%-10s %10s %10s %8s %9s %9s %8s %8s %8s\n' "$c (ms)" \
        "$(col old $c 3 | awk '{print $1 / 1000}' | med)" "$(col new $c 3 | awk '{print $1 / 1000}' | med)" "$(paired $c 3)" \
        "$(col old $c 4 | med)" "$(col new $c 4 | med)" "$(paired $c 4)" "$(col old $c 5 | med)" "$(col new $c 5 | med)"
done
} | results_table
