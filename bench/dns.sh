#!/usr/bin/env bash
# Embedded DNS: berth-dns side by side with aardvark-dns (Podman's resolver),
# same load generator, same machine, same run. Prints medians of ROUNDS.
#
#   sudo bench/dns.sh [ROUNDS] [SECONDS]        (defaults: 5 rounds of 3 s)
#   sudo PIN=0 bench/dns.sh ...                 (no CPU pinning)
#
# Everything runs inside a private network namespace of its own (unshare
# -n: port 53 on loopback addresses, nothing touches the host's network):
#   - a stub upstream resolver on 127.53.0.1:53 (answers any A question);
#   - berth-dns on gateway 127.18.0.1:53, aardvark-dns on 127.28.0.1:53,
#     each with the same network: 100 containers web0..web99 + the client;
#   - dnsload (crates/berth-dns/examples) asks from the client's address:
#     (a) local names web0..web99, (b) forwarded names f0..f99.bench.test,
#     A queries, 2 sockets x 32 queries in flight, closed loop.
# With 2+ CPUs (and PIN unset or 1) the resolver under test is pinned to
# CPU 0 and the load generator and the stub upstream to CPU 1, so the
# resolvers' own cost is what differs. The load generator's own ceiling is
# measured in every round too: the same load against a second stub on the
# resolvers' CPU (127.53.0.2), which answers without any lookup; a
# resolver near that figure is limited by the load generator, not by
# itself. Ratios are berth / aardvark-dns (qps: >1 is better; latency: <1
# is better). The table goes to bench/results/DATE-dns.md (bench/results.sh),
# with every round's raw figures.
set -euo pipefail
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-3}
AARDVARK=${AARDVARK:-/usr/lib/podman/aardvark-dns}
cd "$(dirname "$0")/.."
die() { echo "bench/dns.sh: $*" >&2; exit 1; }

if [ -z "${BERTH_DNS_BENCH_HOST_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || die "needs root (a private network namespace with port 53): sudo bench/dns.sh"
    if [ ! -x "$AARDVARK" ]; then
        apt-get install -y aardvark-dns >/dev/null || die "cannot install aardvark-dns"
    fi
    cargo build --quiet --release -p berth-dns --examples
    BERTH_DNS_BENCH_HOST_NS=$(stat -Lc %i /proc/self/ns/net)
    export BERTH_DNS_BENCH_HOST_NS
    exec unshare -n -- "$0" "$ROUNDS" "$SECONDS_PER_RUN"
fi

# Inside the private namespace: make sure before changing anything.
[ "$(stat -Lc %i /proc/self/ns/net)" != "$BERTH_DNS_BENCH_HOST_NS" ] ||
    die "still in the host's network namespace; refusing"
ip link set lo up
source bench/results.sh
results_open dns "bench/dns.sh $ROUNDS $SECONDS_PER_RUN"
results_note "peer: aardvark-dns $("$AARDVARK" --version 2>/dev/null | awk '{print $2}') ($AARDVARK), same load generator, same run"

EX=$PWD/target/release/examples
WORK=$(mktemp -d /tmp/berth-dns-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$WORK/aardvark/aardvark.pid" ] && kill "$(cat "$WORK/aardvark/aardvark.pid")" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(nproc)" -ge 2 ] && [ "${PIN:-1}" = 1 ]; then
    SERVER_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1)
else
    SERVER_CPU=() LOAD_CPU=()
fi

# One network, 100 containers and the client, for each resolver.
write_configs() {
    local eps=() lines=() i id
    eps+=("{\"container_id\":\"$(printf 'c%.0s' {1..64})\",\"name\":\"client\",\"network_id\":\"n1\",\"ipv4\":\"127.18.0.2\"}")
    lines+=("127.28.0.1 127.53.0.1" "$(printf 'c%.0s' {1..64}) 127.28.0.2  client")
    for i in $(seq 0 99); do
        id=$(printf '%02x%062d' "$i" 0)
        eps+=("{\"container_id\":\"$id\",\"name\":\"web$i\",\"network_id\":\"n1\",\"ipv4\":\"127.18.1.$((i + 1))\",\"aliases\":[\"alias$i\"]}")
        lines+=("$id 127.28.1.$((i + 1))  web$i,alias$i")
    done
    local IFS=,
    printf '{"generation":1,"host_upstreams":["127.53.0.1"],"networks":[{"id":"n1","name":"benchnet","dns":true,"gateways":["127.18.0.1"]}],"endpoints":[%s]}\n' \
        "${eps[*]}" >"$WORK/snapshot.json"
    mkdir -p "$WORK/aardvark"
    printf '%s\n' "${lines[@]}" >"$WORK/aardvark/benchnet"
}

start_servers() {
    "${LOAD_CPU[@]}" "$EX/stub_upstream" 127.53.0.1:53 1 &
    PIDS+=($!)
    # The ceiling's reference: a stub where the resolvers run.
    "${SERVER_CPU[@]}" "$EX/stub_upstream" 127.53.0.2:53 1 &
    PIDS+=($!)
    "${SERVER_CPU[@]}" "$EX/serve" "$WORK/snapshot.json" "$WORK/dns.sock" 53 &
    PIDS+=($!)
    # aardvark-dns forks and writes its pid file once it serves.
    "${SERVER_CPU[@]}" "$AARDVARK" --config "$WORK/aardvark" -p 53 run 2>/dev/null
    sleep 0.5
}

# load SERVER SOURCE NAMES -> "qps p50 p99 errors lost"
load() {
    "${LOAD_CPU[@]}" "$EX/dnsload" --server "$1:53" --source "$2" --names "$3" \
        --duration "$SECONDS_PER_RUN" --clients 2 --window 32 |
        awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
               print v["qps"], v["p50_us"], v["p99_us"], v["errors"], v["lost"] }'
}

write_configs
start_servers
LOCAL=$(seq -s, -f 'web%g' 0 99)
FORWARD=$(seq -s, -f 'f%g.bench.test' 0 99)
RESULTS=$WORK/results
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    for kind in local forward; do
        names=$LOCAL
        [ $kind = forward ] && names=$FORWARD
        echo "berth $kind $(load 127.18.0.1 127.18.0.2 "$names")" >>"$RESULTS"
        echo "aardvark $kind $(load 127.28.0.1 127.28.0.2 "$names")" >>"$RESULTS"
    done
    echo "stub local $(load 127.53.0.2 127.18.0.2 "$LOCAL")" >>"$RESULTS"
    echo "round $round/$ROUNDS done" >&2
done

# Median of column COL for SERVER KIND.
median() {
    awk -v s="$1" -v k="$2" -v c="$3" '$1 == s && $2 == k { print $c }' "$RESULTS" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
row() { # LABEL KIND COL
    local b a
    b=$(median berth "$2" "$3")
    a=$(median aardvark "$2" "$3")
    awk -v l="$1" -v b="$b" -v a="$a" 'BEGIN { printf "%-22s %12.1f %14.1f %8.2fx\n", l, b, a, (a > 0 ? b / a : 0) }'
}
bad=$(awk '$6 > 0 || $7 > 0 { n++ } END { print n + 0 }' "$RESULTS")
pinned="unpinned"
[ ${#SERVER_CPU[@]} -gt 0 ] && pinned="resolver on CPU 0, load on CPU 1"
{
echo "medians of $ROUNDS rounds x ${SECONDS_PER_RUN}s; 2 sockets x 32 in flight; $pinned; ratio = berth / aardvark-dns"
printf '%-22s %12s %14s %9s\n' metric berth aardvark-dns ratio
row "local qps" local 3
row "local p50 (us)" local 4
row "local p99 (us)" local 5
row "forwarded qps" forward 3
row "forwarded p50 (us)" forward 4
row "forwarded p99 (us)" forward 5
printf '%-22s %12.1f   (the load generator against a stub that does no lookup)\n' "ceiling qps" "$(median stub local 3)"
[ "$bad" = 0 ] || echo "warning: $bad runs saw errors or lost queries (see the raw rounds below)"
echo
echo "raw rounds: server kind qps p50_us p99_us errors lost"
cat "$RESULTS"
} | results_table
