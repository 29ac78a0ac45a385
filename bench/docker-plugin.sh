#!/usr/bin/env bash
# `docker run -d -p` on Docker's own bridge driver and on berth's driver
# (`berth docker-plugin`), side by side in one run of one dockerd, inside a
# throwaway lab. Prints medians (ms) and where berth's path spends its time.
#
#   sudo bench/docker-plugin.sh [N]        (after cargo build --release)
#
# Rounds alternate: none, bridge, berth, each `docker run -d` with a
# published port (none: no network at all, Docker's own work without any
# network driver), then `docker rm -f`. The plugin logs the time of each
# request it answers (BERTH_TRACE_STEPS), which gives berth's share.
source "$(dirname "$0")/docker.sh"
docker_need # before the lab: it has no network to install Docker from
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open docker-plugin "bench/docker-plugin.sh $*"
N=${1:-20}
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
export BERTH_TRACE_STEPS=1 BERTH_PLUGIN=$BERTH
docker_start
results_note "peer: Docker $($D version -f '{{.Server.Version}}')'s bridge driver, same dockerd (storage driver $DOCKER_DRIVER)"
$D network create br >/dev/null
$D network create -d berth --ipam-driver berth bn >/dev/null
plugin_log=$BENCH_TMP/docker/plugin.log

# run_one NET PORT: prints the wall time (µs, exectime: no fork of bash
# or `date` in the measurement) of `docker run -d -p` on NET.
run_one() {
    "$EXECTIME" /dev/null /dev/null $D run -d --name "c$2" --network "$1" -p "$2:80" bench-busybox httpd -f -p 80
}
# Warm up each path once (image, first network setup).
for n in none br bn; do run_one "$n" 7999 >/dev/null; $D rm -f c7999 >/dev/null; done

declare -A times
: > "$BENCH_TMP/plugin-ms"
for i in $(seq 1 "$N"); do
    for n in none br bn; do
        port=$((8000 + i))
        [ "$n" = bn ] && before=$(wc -l < "$plugin_log")
        times[$n]+="$(run_one "$n" "$port")"$'\n'
        if [ "$n" != none ]; then
            # Every tenth round: the port must answer from outside.
            if [ $((i % 10)) = 0 ]; then
                for _ in $(seq 20); do
                    ip netns exec outside curl -s -m 2 -o /dev/null "http://198.51.100.2:$port/" && break
                    sleep 0.1
                done || { echo "published port $port on $n does not answer"; exit 1; }
            fi
        fi
        if [ "$n" = bn ]; then
            # The plugin's own time during this `docker run` (ms, summed).
            tail -n +"$((before + 1))" "$plugin_log" | awk '/answered in/ {sub("ms","",$NF); s+=$NF} END {printf "%.3f\n", s}' >> "$BENCH_TMP/plugin-ms"
        fi
        $D rm -f "c$port" >/dev/null
    done
done

med() { printf '%s' "${times[$1]}" | median_us; }
none=$(med none); br=$(med br); bn=$(med bn)
plugin=$(median_of 1 < "$BENCH_TMP/plugin-ms")
{
echo "docker run -d -p, $N samples each (medians, ms; Docker $($D version -f '{{.Server.Version}}'))"
printf '%-46s %8s\n' "network none (Docker's own work, no network)" "$none"
printf '%-46s %8s\n' "Docker's bridge driver (user network)" "$br"
printf '%-46s %8s\n' "berth's driver (berth docker-plugin)" "$bn"
printf '%-46s %8s\n' "  of which berth answering Docker's calls" "$plugin"
awk -v br="$br" -v bn="$bn" -v none="$none" -v p="$plugin" 'BEGIN {
    printf "%-46s %8.2fx\n", "bridge / berth", br / bn
    printf "%-46s %8.1f\n", "network cost, bridge (bridge - none)", br - none
    printf "%-46s %8.1f\n", "network cost, berth (berth - none)", bn - none
    printf "%-46s %8.1f\n", "  of which dockerd<->plugin and moving the veth", bn - none - p
}'
} | results_table
docker_stop
