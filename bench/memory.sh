#!/usr/bin/env bash
# Memory per container and per network (issue 13, goals 3 and 6), inside a
# throwaway lab:
# - per running container, as containers accumulate on DNS networks of at
#   most 1,000 each (a Linux bridge takes 1,024 ports): the private memory
#   and PSS of the supervisors (`berth __supervise`, one per detached
#   container; medians over every one alive, from /proc/PID/smaps_rollup,
#   kB) and of the embedded DNS resolver (its two processes together); the kernel's unreclaimable slab
#   (SUnreclaim: namespaces, links, nftables elements...) and the store's
#   size, per container since the empty host;
# - per network: NETS more networks (no containers) created at the end:
#   SUnreclaim, the store and the resolver's PSS, per network.
#
#   sudo bench/memory.sh [LEVELS] [NETS]     (defaults: 1,100,1000 and 1000)
#   sudo bench/memory.sh 1,100,1000,10000    (the 10,000-container run)
#
# Goal: a supervisor's private memory at most 1 MB at any n (constant in
# n: it must not load the store), the resolver's linear in its names.
# SUnreclaim is the whole host's (the machine may be shared: other work
# moves it too); the process figures are exact.
LEVELS=${1:-1,100,1000}
LEVELS=${LEVELS//,/ }
NETS=${2:-1000}
# The host's pid_max, read before entering the lab: a PID namespace has a
# pid_max of its own (Linux 6.14+), but every task takes a PID of the
# host's too, whose limit is the one that counts.
[ -n "${BENCH_INSIDE:-}" ] || export BENCH_PID_MAX=${BENCH_PID_MAX:-$(cat /proc/sys/kernel/pid_max)}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open memory "bench/memory.sh $*"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
MAX=0
for n in $LEVELS; do [ "$n" -gt "$MAX" ] && MAX=$n; done
room_for_containers "$MAX"

pids_of() { # REGEX: PIDs with an argument that is exactly REGEX (one grep over all; '__dn[s]' does not match grep's own)
    { grep -l -a -z -x -e "$1" /proc/[0-9]*/cmdline 2>/dev/null || true; } | cut -d/ -f3
}
# rollups FIELD... < PIDs: for each PID, the sum of those smaps_rollup
# fields (kB), one awk over every file.
rollups() {
    local fields="$*"
    sed 's|.*|/proc/&/smaps_rollup|' | xargs -r awk -v f=" $fields " '
        FNR == 1 && NR > 1 { print s; s = 0 }
        index(f, " " substr($1, 1, length($1) - 1) " ") { s += $2 }
        END { if (NR) print s }' 2>/dev/null || true
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) {print "-"; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
sum() { awk '{s += $1} END {print s + 0}'; }
sunreclaim() { awk '$1 == "SUnreclaim:" {print $2}' /proc/meminfo; }
store_kb() { du -sk "$BERTH_ROOT" | cut -f1; }
per() { awk -v d="$1" -v n="$2" 'BEGIN{ if (n > 0) printf "%.1f", d/n; else print "-" }'; }

"$BERTH" network create --subnet 10.80.0.0/16 warmnet >/dev/null # sets the host up
"$BERTH" run -d --name warm --network warmnet busybox sleep 1d >/dev/null
"$BERTH" rm -f warm >/dev/null
sleep 1
S0=$(sunreclaim) D0=$(store_kb)
results_note "at the start: SUnreclaim $S0 kB, state root $D0 kB"
have=0 net=0
rows=()
for n in $LEVELS; do
    echo "running $n containers..." >&2
    for i in $(seq $((have + 1)) "$n"); do
        if [ $(((i - 1) % 1000)) = 0 ]; then
            net=$((net + 1))
            "$BERTH" network create --subnet "10.$((80 + net)).0.0/16" "mem$net" >/dev/null
        fi
        if [ $((i % 100)) = 0 ] && ! pid_guard; then
            results_note "STOPPED at $((i - 1)) containers before $n: $STOPPED"
            echo "stopped: $STOPPED" >&2
            break 2
        fi
        "$BERTH" run -d --name "c$i" --network "mem$net" busybox sleep 1d >/dev/null
    done
    have=$n
    sleep 1
    mapfile -t sup < <(pids_of "__supervis[e]")
    mapfile -t dns < <(pids_of "__dn[s]")
    rows+=("$(printf '%-16s  %7s  %11s  %9s  %11s  %9s  %10s  %10s' "containers=$n" "${#sup[@]}" \
        "$(printf '%s\n' "${sup[@]}" | rollups Private_Clean Private_Dirty | median)" \
        "$(printf '%s\n' "${sup[@]}" | rollups Pss | median)" \
        "$(printf '%s\n' "${dns[@]}" | rollups Private_Clean Private_Dirty | sum)" \
        "$(printf '%s\n' "${dns[@]}" | rollups Pss | sum)" \
        "$(per $(($(sunreclaim) - S0)) "$n")" "$(per $(($(store_kb) - D0)) "$n")")")
done

echo "creating $NETS networks..." >&2
mapfile -t dns < <(pids_of "__dn[s]")
P0=$(printf '%s\n' "${dns[@]}" | rollups Pss | sum) S1=$(sunreclaim) D1=$(store_kb)
for i in $(seq 1 "$NETS"); do
    "$BERTH" network create --subnet "10.$((200 + i / 256)).$((i % 256)).0/24" "n$i" >/dev/null
done
sleep 1
mapfile -t dns < <(pids_of "__dn[s]")
P1=$(printf '%s\n' "${dns[@]}" | rollups Pss | sum)
rows+=("$(printf '%-16s  %7s  %11s  %9s  %11s  %9s  %10s  %10s' "networks=+$NETS" - - - - \
    "$(per $((P1 - P0)) "$NETS")" "$(per $(($(sunreclaim) - S1)) "$NETS")" "$(per $(($(store_kb) - D1)) "$NETS")")")
{
printf 'memory per container and per network (kB; supervisors: medians over every one alive; dns: the resolver, its two processes summed; slab and store: per container since the empty host, per network for the last row)\n'
printf '%-16s  %7s  %11s  %9s  %11s  %9s  %10s  %10s\n' metric sups "sup private" "sup PSS" "dns private" "dns PSS" "slab each" "store each"
printf '%s\n' "${rows[@]}"
} | results_table
