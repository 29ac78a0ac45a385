#!/usr/bin/env bash
# Times berth's container lifecycle inside a throwaway lab and, with
# --docker, Docker's in the same run on the same lab (dockerd started inside
# the lab with its own data and exec roots). Prints medians and ratios.
#
#   sudo bench/run.sh [--docker] [N]
#
# Metrics: `run -d -p` (until the command returns; the container is then
# running and its port published), `rm -f` of a container with a published
# port, `network connect` and `network disconnect` of a running container.
source "$(dirname "$0")/docker.sh"
[ "${1:-}" = --docker ] && docker_need # before the lab: it has no network
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open run "bench/run.sh $*"
DOCKER=0
[ "${1:-}" = --docker ] && { DOCKER=1; shift; }
N=${1:-20}
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }

need_exectime

# timed CMD...: runs CMD once through exectime (stdout discarded) and
# prints its wall time in µs.
timed() { "$EXECTIME" /dev/null /dev/null "$@" || { echo "failed: $*" >&2; exit 1; }; }

declare -A RESULT
time_berth() {
    local runs=() rms=() cons=() dis=()
    "$BERTH" network create benchnet >/dev/null
    "$BERTH" run -d --name warm -p 7999:80 busybox sleep 3600 >/dev/null   # first command sets the host up
    for i in $(seq 1 "$N"); do
        runs+=("$(timed "$BERTH" run -d --name c$i -p $((8000+i)):80 busybox sleep 3600)")
        cons+=("$(timed "$BERTH" network connect benchnet c$i)")
        dis+=("$(timed "$BERTH" network disconnect benchnet c$i)")
        rms+=("$(timed "$BERTH" rm -f c$i)")
    done
    RESULT[berth_run]=$(printf '%s\n' "${runs[@]}" | median_us)
    RESULT[berth_rm]=$(printf '%s\n' "${rms[@]}" | median_us)
    RESULT[berth_connect]=$(printf '%s\n' "${cons[@]}" | median_us)
    RESULT[berth_disconnect]=$(printf '%s\n' "${dis[@]}" | median_us)
    "$BERTH" rm -f warm >/dev/null
}

time_docker() {
    docker_start
    results_note "peer: Docker $($D version -f '{{.Server.Version}}') (dockerd started in the lab), storage driver $DOCKER_DRIVER, userland proxy on (its default)"
    local runs=() rms=() cons=() dis=()
    $D network create benchnet >/dev/null
    $D run -d --name warm -p 7999:80 bench-busybox sleep 3600 >/dev/null
    for i in $(seq 1 "$N"); do
        runs+=("$(timed $D run -d --name c$i -p $((8000+i)):80 bench-busybox sleep 3600)")
        cons+=("$(timed $D network connect benchnet c$i)")
        dis+=("$(timed $D network disconnect benchnet c$i)")
        rms+=("$(timed $D rm -f c$i)")
    done
    RESULT[docker_run]=$(printf '%s\n' "${runs[@]}" | median_us)
    RESULT[docker_rm]=$(printf '%s\n' "${rms[@]}" | median_us)
    RESULT[docker_connect]=$(printf '%s\n' "${cons[@]}" | median_us)
    RESULT[docker_disconnect]=$(printf '%s\n' "${dis[@]}" | median_us)
    $D rm -f warm >/dev/null
    docker_stop
}

time_berth
[ "$DOCKER" = 1 ] && time_docker

{
printf '%-26s %12s %12s %8s\n' "metric (median, N=$N)" "berth ms" "docker ms" "ratio"
for m in run rm connect disconnect; do
    b=${RESULT[berth_$m]}; d=${RESULT[docker_$m]:-}
    if [ -n "$d" ]; then r=$(awk -v b="$b" -v d="$d" 'BEGIN{printf "%.0fx", d/b}'); else d=-; r=-; fi
    label=$m; [ "$m" = run ] && label="run -d -p"; [ "$m" = rm ] && label="rm -f (published port)"; [ "$m" = connect ] && label="network connect"; [ "$m" = disconnect ] && label="network disconnect"
    printf '%-26s %12s %12s %8s\n' "$label" "$b" "$d" "$r"
done
} | results_table
