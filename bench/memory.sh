#!/usr/bin/env bash
# Memory per container (issue 13, goals 3 and 6), inside a throwaway lab:
# the private memory and PSS of the supervisors (`berth __supervise`, one
# per detached container) and of the embedded DNS resolver, as containers
# accumulate on a DNS network — the curve at each level, from
# /proc/PID/smaps_rollup (kB; medians over every supervisor alive).
#
#   sudo bench/memory.sh [LEVELS]       (default: 3,100,1000)
#
# Goal: a supervisor's private memory at most 1 MB at any n (constant in
# n: it must not load the store), the resolver's linear in its names.
LEVELS=${1:-3,100,1000}
LEVELS=${LEVELS//,/ }
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open memory "bench/memory.sh $*"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
# A /16 holds the largest level; containers are spread over bridges of at
# most 1000 ports (a Linux bridge takes 1024).
pids_of() { # PATTERN: PIDs whose command line holds PATTERN
    local p
    for p in $(ls /proc | grep -E '^[0-9]+$'); do
        { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q -- "$1" && echo "$p"
    done
    return 0
}
rollup() { # FIELD PID...: that smaps_rollup field (kB) of each PID
    local f=$1 p
    shift
    for p in "$@"; do awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) {print "-"; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
private() { # PID...: Private_Clean + Private_Dirty (kB) of each
    local p
    for p in "$@"; do
        awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {s += $2} END {print s}' "/proc/$p/smaps_rollup" 2>/dev/null
    done
}
have=0 net=0
rows=()
for n in $LEVELS; do
    echo "running $n containers..." >&2
    for i in $(seq $((have + 1)) "$n"); do
        if [ $(((i - 1) % 1000)) = 0 ]; then
            net=$((net + 1))
            "$BERTH" network create --subnet "10.$((80 + net)).0.0/16" "mem$net" >/dev/null
        fi
        "$BERTH" run -d --name "c$i" --network "mem$net" busybox sleep 1d >/dev/null
    done
    have=$n
    # A DNS change once everything runs (the resolver has every name).
    "$BERTH" run -d --name "probe$n" --network mem1 busybox sleep 1d >/dev/null
    mapfile -t sup < <(pids_of "__supervise")
    mapfile -t dns < <(pids_of "__dns")
    rows+=("$(printf '%-12s %8s %12s %12s %12s %12s' "containers=$n" "${#sup[@]}" \
        "$(private "${sup[@]}" | median)" "$(rollup Pss "${sup[@]}" | median)" \
        "$(private "${dns[@]}" | median)" "$(rollup Pss "${dns[@]}" | median)")")
done
{
printf 'memory per container (kB; supervisors: medians over every one alive)\n'
printf '%-12s %8s %12s %12s %12s %12s\n' metric sups "sup private" "sup PSS" "dns private" "dns PSS"
printf '%s\n' "${rows[@]}"
} | results_table
