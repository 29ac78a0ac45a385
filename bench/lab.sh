# Sourced by bench scripts: re-executes the calling script inside a fresh
# network + mount namespace (a lab) with a pretend outside world, and refuses
# to touch anything if that did not work. Never changes the host's namespace.
if [ -z "${BENCH_INSIDE:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "benchmarks need root (they create namespaces): run with sudo" >&2; exit 1; }
    # The kernel frees a lab's network namespaces in the background after
    # it ends (~1,000 take a minute or more), and that work slows whatever
    # runs meanwhile: a benchmark started right after a big one measured
    # the teardown too. Wait (at most 3 min) until the machine holds fewer
    # than BENCH_MAX_NETNS (150) of them.
    for _ in $(seq 180); do
        left=$(awk '$1 == "net_namespace" {print $2}' /proc/slabinfo 2>/dev/null || echo 0)
        [ "${left:-0}" -lt "${BENCH_MAX_NETNS:-150}" ] && break
        echo "waiting for the kernel to free $left network namespaces of an earlier lab..." >&2
        sleep 1
    done
    export BENCH_HOST_NETNS
    BENCH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
    # A PID namespace too: when the benchmark ends, the kernel ends every
    # process it started (supervisors, resolvers, servers), even ones that
    # daemonized, so nothing outlives a run — not even after a crash.
    exec unshare --net --mount --pid --fork --mount-proc --propagation private env BENCH_INSIDE=1 bash "$0" "$@"
fi
if [ "$(stat -L -c %i /proc/self/ns/net)" = "$BENCH_HOST_NETNS" ]; then
    echo "refusing to run: still in the host's network namespace" >&2
    exit 1
fi
set -euo pipefail
BENCH_TMP=$(mktemp -d /tmp/berth-bench.XXXXXX)
# A mount of its own (bound onto itself: the same disk, so the store's
# writes cost what they cost on the host), so that the cleanup detaches it
# with every namespace pin under it in one lazy unmount.
mount --bind "$BENCH_TMP" "$BENCH_TMP"
# A cgroup parent of this run's own, for container engines (cgroups are not
# namespaced here): removed by the cleanup once every process is gone.
BENCH_CG=/berth-bench-$(basename "$BENCH_TMP")
trap 'bench_cleanup' EXIT
bench_pids=()
bench_cleanup() {
    for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # Everything berth started runs in this lab's PID namespace, whose init
    # this shell is: end those processes by PID — containers too, which
    # have network namespaces of their own (while they run, their mounts
    # keep files of the state root busy). Outside a PID namespace of our
    # own, only the processes in this network namespace.
    local me
    me=$(stat -L -c %i /proc/self/ns/net)
    for p in $(ls /proc | grep -E '^[0-9]+$'); do
        [ "$p" = $$ ] && continue
        if [ $$ = 1 ] || [ "$(stat -L -c %i /proc/$p/ns/net 2>/dev/null)" = "$me" ]; then
            kill -9 "$p" 2>/dev/null || true
        fi
    done
    # Until only this shell and the counting pipeline are left (at most 5 s).
    for _ in $(seq 50); do [ "$(ls /proc | grep -cE '^[0-9]+$')" -le 3 ] && break; sleep 0.1; done
    for d in /sys/fs/cgroup/*"$BENCH_CG" /sys/fs/cgroup"$BENCH_CG"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    # berth's namespace pins and names are mounts under its state root and
    # /run: detach each tree whole (in this private mount namespace) so the
    # directory can go. One unmount per mount walked the whole mount table
    # each time: beside 10,000 containers the cleanup ran for hours, and
    # every namespace it kept alive slowed the machine's other work.
    umount -l /run 2>/dev/null || true
    umount -l "$BENCH_TMP" 2>/dev/null || true
    rm -rf "$BENCH_TMP"
}
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
ip link set lo up
ip netns add outside
ip link add uplink type veth peer eth0 netns outside
ip addr add 198.51.100.2/24 dev uplink && ip link set uplink up
ip -n outside addr add 198.51.100.1/24 dev eth0 && ip -n outside link set eth0 up && ip -n outside link set lo up
ip -n outside addr add 203.0.113.1/32 dev lo
ip route add default via 198.51.100.1
export BERTH_ROOT=$BENCH_TMP/berth

# median_of DIV: the median of the numbers on stdin (one per line) divided
# by DIV, with 1 decimal. Timings come from exectime (below), never from
# forks of `date` around a command (bash's own forks would be measured).
median_of() { sort -n | awk -v d="$1" '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/d}'; }
# median_us: the median, in ms, of microseconds (exectime's unit).
median_us() { median_of 1000; }
# exectime (crates/berth-bench) times one process as a runtime spawns it,
# without bash's own forks in the measurement; need_exectime checks it is built.
EXECTIME=${EXECTIME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/release/exectime}
need_exectime() { [ -x "$EXECTIME" ] || { echo "build the bench tools first: cargo build --release" >&2; exit 1; }; }
# The scale benchmarks' helpers: t CMD... prints the µs of one process (the
# run fails with it); med the median (ms) of its arguments; ratio A B is
# B/A as "1.23x"; net_subnet I is the I-th /24 of 10.200.0.0/13.
t() { "$EXECTIME" /dev/null /dev/null "$@" || { echo "failed: $*" >&2; exit 1; }; }
med() { printf '%s\n' "$@" | median_us; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0) printf "%.2fx", b/a; else print "-" }'; }
net_subnet() { echo "10.$((200 + $1 / 256)).$(($1 % 256)).0/24"; }

# room_for_containers N: exits unless the host (pid_max is shared with it)
# has room for TASKS (2) tasks per container; sets `threads` (the host's tasks now)
# and raises the open-file limit. Then pid_guard, called as containers are
# added, fails (the run stops growing and reports the points it reached,
# and the lab's cleanup ends everything) when the host's tasks come within
# 1,000 of pid_max (everything else on the host must still be able to
# fork), or its available memory falls under 3 GB (before issue 13's fix
# each container's mount namespace copied every netns pin of the host: the
# kernel's mount objects grew with the square of the containers, ~6.7 GB at
# 4,250; see docs/decisions/0018). It says why in STOPPED.
room_for_containers() {
    local room
    threads=$(cut -d' ' -f4 /proc/loadavg | cut -d/ -f2)
    room=$((${BENCH_PID_MAX:-$(cat /proc/sys/kernel/pid_max)} - threads))
    local need=$((${TASKS:-2} * $1 + 1500))
    [ "$room" -gt "$need" ] || { echo "pid_max leaves room for $room more processes; $1 containers need $need" >&2; exit 1; }
    ulimit -n 65536 2>/dev/null || true
}
pid_guard() {
    local used avail
    used=$(cut -d' ' -f4 /proc/loadavg | cut -d/ -f2)
    [ $((${BENCH_PID_MAX:-$(cat /proc/sys/kernel/pid_max)} - used)) -gt 1000 ] || { STOPPED="$used tasks on the host, pid_max ${BENCH_PID_MAX:-$(cat /proc/sys/kernel/pid_max)}"; return 1; }
    avail=$(awk '$1 == "MemAvailable:" {print $2}' /proc/meminfo)
    [ "$avail" -gt 3000000 ] || { STOPPED="$avail kB of memory available, $(awk '$1 == "mnt_cache" {print $2}' /proc/slabinfo 2>/dev/null) mounts in the kernel"; return 1; }
}
