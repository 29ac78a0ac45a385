#!/usr/bin/env bash
# Soak: many lifecycles in a throwaway lab, and whether anything grows.
#
#   sudo bench/soak.sh [CYCLES] [EVERY]     (defaults: 2000 cycles, a row every 500)
#
# Two phases, each CYCLES cycles:
#  - CLI: `berth run -d -p 8080:80` on a DNS network, then `rm -f` (one
#    long-lived container keeps the resolver up, so its fds and memory are
#    watched across every change of the name table);
#  - CNI: `berth` as a CNI plugin, ADD then DEL of one published port, a new
#    container ID each cycle, in one pre-made namespace.
# At the start and every EVERY cycles it prints: links, berth's nftables
# elements, store rows, files under the state root, berth's mounts, the
# resolver's open fds and RSS, and the lab's processes; at each row a
# published port serves a page and a name resolves (the soak checks it
# still works, not only that it is small). At the end, the verdict: every
# count but RSS must be back to its first value; RSS is reported.
CYCLES=${1:-2000}
EVERY=${2:-500}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open soak "bench/soak.sh $CYCLES $EVERY"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
mount -t sysfs sysfs /sys
W=$BENCH_TMP/soak; mkdir -p "$W/www"
echo soak-ok > "$W/www/index.html"

# Counters, one line each: name value.
nft_elements() {
    nft -j list ruleset | jq '[.nftables[] | (.set // .map // empty) | select(.table == "berth") | (.elem // []) | length] | add // 0'
}
store_rows() {
    python3 - "$BERTH_ROOT" <<'PY'
import pathlib, sqlite3, sys
total = 0
for db in pathlib.Path(sys.argv[1]).rglob("*.db"):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for (t,) in c.execute("select name from sqlite_master where type='table'"):
        total += c.execute(f'select count(*) from "{t}"').fetchone()[0]
print(total)
PY
}
resolver_pid() { cat "$(find "$BERTH_ROOT" -name resolver.pid 2>/dev/null | head -1)" 2>/dev/null; }
row() { # row PHASE CYCLE
    local pid fds=- rss=-
    # The kernel frees a removed namespace's links asynchronously (RCU):
    # give the last cycle's a second, so a row counts leaks, not work in
    # flight.
    sleep 1
    pid=$(resolver_pid)
    if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
        fds=$(ls "/proc/$pid/fd" | wc -l)
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    fi
    printf '%-4s %6s %6s %8s %6s %6s %6s %5s %8s %6s\n' "$1" "$2" \
        "$(ip -o link | wc -l)" "$(nft_elements)" "$(store_rows)" \
        "$(find "$BERTH_ROOT" | wc -l)" "$(grep -cF "$BERTH_ROOT" /proc/self/mountinfo)" \
        "$fds" "$rss" "$(long_lived)"
}
# The lab's long-lived processes: all but this script's own tools.
long_lived() {
    for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done |
        grep -cvxE 'bash|ls|grep|tee|awk|find|python3|nft|jq|ip|wc|cat|head'
}
header() { printf '%-4s %6s %6s %8s %6s %6s %6s %5s %8s %6s\n' phase cycle links elements rows files mounts dnsfd dnsrssKB procs; }
works() { # the published port serves and a name resolves, right now
    "$BERTH" run -d --name probe -p 8080:80 --network soaknet -v "$W/www":/tmp/www:ro busybox httpd -f -p 80 -h /tmp/www >/dev/null
    for _ in $(seq 50); do curl -sf -m1 http://198.51.100.2:8080/ 2>/dev/null | grep -q soak-ok && break; sleep 0.1; done
    curl -sf -m1 http://198.51.100.2:8080/ | grep -q soak-ok || { echo "published port did not serve" >&2; exit 1; }
    "$BERTH" exec keeper busybox nslookup probe >/dev/null || { echo "name did not resolve" >&2; exit 1; }
    "$BERTH" rm -f probe >/dev/null
}

"$BERTH" network create --subnet 10.88.0.0/16 soaknet >/dev/null
"$BERTH" run -d --name keeper --network soaknet busybox sleep 100000 >/dev/null
works
header
ROWS=$W/rows; : > "$ROWS"
row cli 0 | tee -a "$ROWS"
for i in $(seq 1 "$CYCLES"); do
    "$BERTH" run -d --name c -p 8080:80 --network soaknet busybox sleep 3600 >/dev/null || { echo "run failed at cycle $i" >&2; exit 1; }
    "$BERTH" rm -f c >/dev/null || { echo "rm failed at cycle $i" >&2; exit 1; }
    if [ $((i % EVERY)) = 0 ]; then works; row cli "$i" | tee -a "$ROWS"; fi
done

export CNI_PATH=/usr/lib/cni CNI_IFNAME=eth0 CNI_NETNS=/run/netns/soak
ip netns add soak
printf '{"cniVersion":"1.0.0","name":"soakcni","type":"berth","bridge":"cni-soak","ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.0.0/16"}]]},"runtimeConfig":{"portMappings":[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]}}\n' > "$W/cni.json"
cni() { CNI_COMMAND=$1 CNI_CONTAINERID=$2 "$BERTH" < "$W/cni.json" >/dev/null || { echo "CNI $1 failed at $2" >&2; exit 1; }; }
cni ADD warm; cni DEL warm
row cni 0 | tee -a "$ROWS"
for i in $(seq 1 "$CYCLES"); do
    cni ADD "soak$i"
    [ $((i % EVERY)) = 1 ] && { ip netns exec soak busybox ping -c1 -W2 10.89.0.1 >/dev/null || { echo "no gateway after ADD $i" >&2; exit 1; }; }
    cni DEL "soak$i"
    if [ $((i % EVERY)) = 0 ]; then row cni "$i" | tee -a "$ROWS"; fi
done

# The verdict: within each phase, every count but the resolver's RSS is
# back to its first value. The rows and the verdict go to the results file.
verdict() {
python3 - "$ROWS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
names = ["links", "elements", "rows", "files", "mounts", "dnsfd", "dnsrssKB", "procs"]
bad = []
for phase in ("cli", "cni"):
    ps = [r for r in rows if r[0] == phase]
    first, last = ps[0], ps[-1]
    for i, n in enumerate(names):
        a, b = first[i + 2], last[i + 2]
        if n == "dnsrssKB":
            print(f"{phase}: resolver RSS {a} kB -> {b} kB")
            continue
        if a != b:
            bad.append(f"{phase}: {n} {a} -> {b}")
print("FLAT" if not bad else "GROWS: " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
}
status=0
verdict > "$W/verdict" || status=$?
cat "$W/verdict"
{ header; cat "$ROWS"; cat "$W/verdict"; } | results_table >/dev/null
exit "$status"
