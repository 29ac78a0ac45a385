#!/usr/bin/env bash
# How berth scales with the number of containers and networks on one host
# (issue 13, goals 3 and 4), inside a throwaway lab. Prints one table, the
# curve: medians of K (15) samples at each point.
#
#   sudo bench/scale.sh [M] [NETS]      (defaults: 1000 containers, 1000 networks)
#   sudo bench/scale.sh 10000           (the 10,000-container run)
#
# - `network create` with n = 1, 100 and NETS networks in the store (each
#   network a /24 of its own and a bridge), beside the kernel's own floor
#   at the same n: a bare `ip link add NAME type bridge`. The networks are
#   then removed (untimed) before the containers start.
# - `berth run -d` with n = 1, 100, 1,000, 10,000 (those below M) and M
#   containers running on the host. The host fills up (untimed) over DNS
#   networks of at most PER (1000) containers each — a Linux bridge takes at
#   most 1,024 ports — so 10,000 containers take ten of them. At each point
#   K samples of each, interleaved so that noise hits all three:
#     * `run -d` on a DNS network: the fullest one (the one the fill last
#       went to: ~1,000 containers from n = 1,000 on) — goal 4 compares
#       n = 1,000 with n = 1..15;
#     * `run -d` on the default `bridge` (no DNS; it holds only the samples);
#     * the kernel's floor at the same n: one `ip` process creating a veth
#       pair (its peer in another namespace) into the fullest bridge,
#       up and mastered (deleted again, untimed).
#   n = 1 stands for the empty host: its samples run with 0..3K containers.
# - at each point, the mounts: the lab's mount table (berth's netns pins and
#   /run/netns names are there, 2 mounts each on their anchor), a new
#   container's mount table (a copy of the host's without the pins: the same
#   at every n), and the kernel's mount objects and Slab memory (the whole
#   machine's, so other labs' count too).
# Needs 2 tasks per container (the single-threaded supervisor and the
# container's process; a berth before issue 13's fix needs 3): the script
# refuses to start if the host's pid_max (shared with everything else on the
# host) leaves no room for TASKS (default 2) per container more.
M=${1:-1000}
NETS=${2:-1000}
K=${K:-15}
PER=${PER:-1000}
POINTS=()
for p in 100 1000 10000; do [ "$p" -lt "$M" ] && POINTS+=("$p"); done
POINTS+=("$M")
NPOINTS=()
for p in 100; do [ "$p" -lt "$NETS" ] && NPOINTS+=("$p"); done
NPOINTS+=("$NETS")
# The host's pid_max, read before entering the lab: a PID namespace has a
# pid_max of its own (Linux 6.14+), but every task takes a PID of the
# host's too, whose limit is the one that counts.
[ -n "${BENCH_INSIDE:-}" ] || export BENCH_PID_MAX=${BENCH_PID_MAX:-$(cat /proc/sys/kernel/pid_max)}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open scale "bench/scale.sh $*"
results_note "no peer: berth at n=1 against berth at n=$M (containers) and n=$NETS (networks), same run; the kernel's floor beside each point"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
room_for_containers "$M"
results_note "host threads at the start: $threads (the host's pid_max ${BENCH_PID_MAX:-?}); ulimit -n $(ulimit -n)"

declare -A R

# --- network create: n = 1, 100, NETS networks in the store.
echo "network create: $NETS networks..." >&2
"$BERTH" run -d --name warm busybox sleep 1d >/dev/null # sets the host up
"$BERTH" rm -f warm >/dev/null
made=0
net_window() { # POINT LABEL: fill to POINT-1 networks (untimed), then K timed creates and floors
    local p=$1 i a=() f=()
    while [ "$made" -lt $(($1 - 1)) ]; do
        made=$((made + 1))
        "$BERTH" network create --subnet "$(net_subnet $made)" "n$made" >/dev/null
    done
    for i in $(seq 1 "$K"); do
        made=$((made + 1))
        a+=("$(t "$BERTH" network create --subnet "$(net_subnet $made)" "n$made")")
        f+=("$(t ip link add "kb$i" type bridge)")
    done
    for i in $(seq 1 "$K"); do ip link del "kb$i"; done
    R[net,$2]=$(med "${a[@]}") R[netfloor,$2]=$(med "${f[@]}")
}
net_window 1 1
for p in "${NPOINTS[@]}"; do
    # The last point's samples are its last K networks (n = NETS-K+1..NETS).
    q=$p; [ "$p" = "$NETS" ] && q=$((NETS - K + 1)); [ "$q" -le "$made" ] && q=$((made + 1))
    net_window "$q" "$p"
done
NETS_MADE=$made
rm_start=$(date +%s%N)
seq 1 "$made" | sed 's/^/n/' | xargs -r -n 100 "$BERTH" network rm >/dev/null
results_note "network rm of the $made networks (100 names per command, untimed above): $((($(date +%s%N) - rm_start) / 1000000)) ms in all"

# --- run -d: n containers running on the host.
have=0 net=0 in_net=$PER
dns_net() { # a DNS network with room: the current one, or a new one
    if [ "$in_net" -ge "$PER" ]; then
        net=$((net + 1)) in_net=0
        "$BERTH" network create --subnet "10.$((20 + net)).0.0/16" -o com.docker.network.bridge.name="bs$net" "dns$net" >/dev/null
    fi
}
fill() { # fill to N containers (untimed)
    while [ "$have" -lt "$1" ]; do
        dns_net
        if [ $((have % 100)) = 0 ]; then pid_guard || return 1; fi
        "$BERTH" run -d --name "c$have" --network "dns$net" busybox sleep 1d >/dev/null
        have=$((have + 1)) in_net=$((in_net + 1))
    done
}
ip netns add kfloor
sample=0
run_window() { # LABEL: K samples of each (DNS, bridge, floor)
    local i d=() b=() f=()
    dns_net
    for i in $(seq 1 "$K"); do
        sample=$((sample + 1))
        d+=("$(t "$BERTH" run -d --name "d$sample" --network "dns$net" busybox sleep 1d)")
        b+=("$(t "$BERTH" run -d --name "b$sample" --network bridge busybox sleep 1d)")
        f+=("$(t ip link add "kf$i" mtu 1500 master "bs$net" up type veth peer "kf$i" netns kfloor)")
        have=$((have + 2)) in_net=$((in_net + 1))
    done
    for i in $(seq 1 "$K"); do ip link del "kf$i"; done
    R[dns,$1]=$(med "${d[@]}") R[bridge,$1]=$(med "${b[@]}") R[floor,$1]=$(med "${f[@]}")
    R[dnsn,$1]=$in_net
    R[hostmnt,$1]=$(wc -l </proc/self/mountinfo)
    R[ctrmnt,$1]=$("$BERTH" run --rm busybox sh -c 'wc -l </proc/self/mountinfo')
    R[mntobj,$1]=$(awk '$1 == "mnt_cache" {print $2}' /proc/slabinfo 2>/dev/null)
    R[slab,$1]=$(awk '$1 == "Slab:" {printf "%d", $2 / 1024}' /proc/meminfo)
}
echo "run -d: $M containers..." >&2
run_window 1
idx=0
for p in "${POINTS[@]}"; do
    echo "  n=$p..." >&2
    if ! fill "$p"; then
        echo "stopped at n=$have: $STOPPED" >&2
        results_note "STOPPED at n=$have before n=$p: $STOPPED"
        POINTS=("${POINTS[@]:0:$idx}")
        break
    fi
    run_window "$p"
    idx=$((idx + 1))
done
results_note "$have containers running at the end on $net DNS networks (at most $PER each) and bridge ($sample); the fullest DNS network at each point: $(for p in 1 "${POINTS[@]}"; do printf 'n=%s: %s; ' "$p" "${R[dnsn,$p]}"; done)"
snap=$(stat -c %s "$BERTH_ROOT/run/dns/snapshot.json" 2>/dev/null || echo 0)
results_note "the embedded DNS's snapshot at the end: $((snap / 1024)) KB"

row() { # METRIC KEY POINTS...: the curve, then last / first
    local m=$1 k=$2 p line
    shift 2
    line=$(printf '%-34s' "$m")
    for p in "$@"; do line+=$(printf ' %10s' "${R[$k,$p]}"); done
    printf '%s %8s\n' "$line" "$(ratio "${R[$k,1]}" "${R[$k,${!#}]:-}")"
}
{
printf 'berth at scale (medians of %s, ms; ratio = last point / n=1)\n' "$K"
printf '%-34s' metric; for p in 1 "${NPOINTS[@]}"; do printf ' %10s' "n=$p"; done; printf ' %8s\n' ratio
row "network create (n networks)" net 1 "${NPOINTS[@]}"
row "  kernel: ip link add type bridge" netfloor 1 "${NPOINTS[@]}"
printf '%-34s' metric; for p in 1 "${POINTS[@]}"; do printf ' %10s' "n=$p"; done; printf ' %8s\n' ratio
row "run -d, DNS network" dns 1 "${POINTS[@]}"
row "run -d, bridge (no DNS)" bridge 1 "${POINTS[@]}"
row "  kernel: veth into the bridge" floor 1 "${POINTS[@]}"
row "mounts: the lab's mount table" hostmnt 1 "${POINTS[@]}"
row "mounts: a new container's table" ctrmnt 1 "${POINTS[@]}"
row "kernel mount objects (machine)" mntobj 1 "${POINTS[@]}"
row "kernel Slab MB (machine)" slab 1 "${POINTS[@]}"
} | results_table
