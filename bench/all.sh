#!/usr/bin/env bash
# Runs every benchmark, one after the other (each in its own throwaway lab),
# and writes one file, bench/results/DATE-all.md: the date, the machine,
# the kernel, berth's commit, the peers' versions, the load average, then
# one Markdown table of every benchmark's medians and ratios, then each
# benchmark's own result file in full (what the table was taken from).
#
#   sudo bench/all.sh              small N: every script runs in minutes
#                                  (proves they work; figures are noisy)
#   sudo FULL=1 bench/all.sh       each script's own defaults (the figures
#                                  the README quotes)
#   sudo BENCH_ONLY="run cni" bench/all.sh    only these benchmarks
#
# Needs a release build (`cargo build --release --locked`: berth and
# exectime) and the peers from scripts/deps (Docker, Podman, netavark,
# the CNI plugins, etcd, iperf3); checked before anything starts, since
# the labs have no network to install anything from. A benchmark that
# fails is marked in the table and the rest still run; the exit status
# is then 1.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "benchmarks need root (they create namespaces): run with sudo" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BERTH=${BERTH:-$ROOT/target/release/berth}
EXECTIME=${EXECTIME:-$ROOT/target/release/exectime}
for b in "$BERTH" "$EXECTIME"; do
    [ -x "$b" ] || { echo "$b is missing: build first with cargo build --release --locked" >&2; exit 1; }
done
export BERTH EXECTIME
source "$HERE/docker.sh"
docker_need
for t in podman netavark etcd etcdctl iperf3 jq nft; do
    command -v "$t" >/dev/null || [ -x "/usr/lib/podman/$t" ] ||
        { echo "$t is missing: run scripts/deps first (the labs have no network)" >&2; exit 1; }
done

# NAME and its arguments: small N by default, the script's defaults with FULL=1.
ORDER=(run docker-plugin podman cni cni-phases dns scale store memory overlay cluster ports soak)
declare -A SMALL=(
    [run]="--docker 3" [docker-plugin]="3" [podman]="3" [cni]="10 50" [cni-phases]="10"
    [dns]="2 1" [scale]="30 30" [store]="10,100 3" [memory]="3,30 30" [overlay]="3 1" [cluster]="3 5 10"
    [ports]="1 1" [soak]="100 50"
)
declare -A FULLARGS=([run]="--docker")
ONLY=${BENCH_ONLY:-${ORDER[*]}}
W=$(mktemp -d /tmp/berth-bench-all.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/results" "$W/logs"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u '+%F %H:%M UTC')
failed=()
for name in "${ORDER[@]}"; do
    [[ " $ONLY " == *" $name "* ]] || continue
    if [ "${FULL:-0}" = 1 ]; then args=${FULLARGS[$name]:-}; else args=${SMALL[$name]}; fi
    echo "== bench/$name.sh $args" >&2
    # shellcheck disable=SC2086 # the arguments are words
    if ! BENCH_RESULTS=$W/results/$name bash "$HERE/$name.sh" $args >"$W/logs/$name.log" 2>&1; then
        echo "bench/$name.sh failed; its output:" >&2
        tail -20 "$W/logs/$name.log" >&2
        failed+=("$name")
    fi
done

OUT_DIR=${BENCH_RESULTS:-$HERE/results}
mkdir -p "$OUT_DIR"
day=$(date +%F)
OUT=$OUT_DIR/$day-all.md
n=2
while [ -e "$OUT" ]; do OUT=$OUT_DIR/$day-all-$n.md; n=$((n + 1)); done
source "$HERE/all-table.sh"
write_all >"$OUT"
echo "results: $OUT" >&2
[ ${#failed[@]} = 0 ] || { echo "failed: ${failed[*]}" >&2; exit 1; }
