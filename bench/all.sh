#!/usr/bin/env bash
# Runs every benchmark, one after the other (each in a throwaway lab of its
# own), and writes one Markdown file with one table of every figure to
# bench/results/DATE-all.md: date, machine, kernel, berth's commit, the
# peers' versions, then each benchmark's rows (medians, ratios) as it
# printed them; each benchmark's own result file is kept beside it. The
# README's table quotes it.
#
#   sudo bench/all.sh [--quick]
#
# --quick: tiny sizes, to prove every script runs (minutes, not hours);
# its figures mean nothing. Peers that are not installed are skipped
# (scripts/deps installs them); run on a quiet machine for real figures.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "benchmarks need root (they create namespaces): run with sudo" >&2; exit 1; }
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
[ -x target/release/berth ] && [ -x target/release/exectime ] ||
    { echo "build first: cargo build --release --locked -p berth -p berth-bench" >&2; exit 1; }
q() { [ "$QUICK" = 1 ] && echo "$1" || echo "$2"; } # q QUICK-ARGS FULL-ARGS
# name | command (with its arguments): in this order.
benches=(
    "run|bench/run.sh $(command -v dockerd >/dev/null && echo --docker) $(q 3 20)"
    "cni|bench/cni.sh $(q '10 30' '40 1000')"
    "cni-phases|bench/cni-phases.sh $(q 5 40)"
    "scale|bench/scale.sh $(q 20 1000)"
    "store|bench/store.sh $(q '"10 100"' '"100 1000 10000"') $(q 3 9)"
    "memory|bench/memory.sh $(q '"3 20"' '"3 100 1000"')"
    "dns|bench/dns.sh $(q '1 1' '5 3')"
    "podman|bench/podman.sh $(q 3 20)"
    "docker-plugin|bench/docker-plugin.sh $(q 3 20)"
    "overlay|bench/overlay.sh $(q '3 1' '20 3')"
)
OUT=$(mktemp -d /tmp/berth-bench-all.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export BENCH_RESULTS=$OUT
failed=()
for b in "${benches[@]}"; do
    name=${b%%|*} cmd=${b#*|}
    echo "== $name: $cmd" >&2
    if ! eval "$cmd" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
        echo "   $name failed (see below)" >&2
        tail -5 "$OUT/$name.err" >&2
        failed+=("$name")
    fi
done
version() { "$@" 2>/dev/null | head -1 || echo "not installed"; }
day=$(date +%F)
mkdir -p bench/results
dest=bench/results/$day-all.md n=2
while [ -e "$dest" ]; do dest=bench/results/$day-all-$n.md; n=$((n + 1)); done
{
    echo "# every benchmark: $(date -u '+%F %H:%M UTC')$([ "$QUICK" = 1 ] && echo ' (--quick: sizes too small to mean anything)')"
    echo
    echo "- berth: commit $(git -c safe.directory='*' describe --always --dirty 2>/dev/null || echo unknown), release build"
    echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- peers: Docker $(version dockerd --version | awk '{print $3}' | tr -d ,), netavark $(version /usr/lib/podman/netavark --version | awk '{print $2}'), aardvark-dns $(version /usr/lib/podman/aardvark-dns --version | awk '{print $2}'), Podman $(version podman --version | awk '{print $3}'), CNI plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo '?')"
    echo "- load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    [ "${#failed[@]}" = 0 ] || echo "- failed: ${failed[*]} (their rows are missing)"
    echo
    echo "| benchmark | metric | figures (as the benchmark prints them: see its own file for the columns) |"
    echo "|---|---|---|"
    for b in "${benches[@]}"; do
        name=${b%%|*}
        f=$(ls "$OUT"/*-"$name".md 2>/dev/null | head -1)
        [ -n "$f" ] || continue
        # The table of the benchmark's own file: between its ``` fences;
        # columns are separated by two or more spaces.
        awk -v b="$name" '
            /^```/ {inside = !inside; next}
            inside && NF {
                n = split($0, c, /  +/)
                rest = ""
                for (i = 2; i <= n; i++) rest = rest (rest == "" ? "" : " · ") c[i]
                printf "| %s | %s | %s |\n", b, c[1], rest
            }' "$f"
    done
    echo
    echo "Each benchmark's own file (command, notes, raw figures):"
    echo
    for f in "$OUT"/*.md; do
        echo "<details><summary>$(basename "$f")</summary>"
        echo
        cat "$f"
        echo
        echo "</details>"
    done
} >"$dest"
echo "results: $dest" >&2
[ "${#failed[@]}" = 0 ]
