#!/usr/bin/env bash
# `podman run -d -p` with berth as Podman's network backend, side by side
# with Debian's netavark 1.4 (and aardvark-dns), in the same run, inside a
# throwaway lab (bench/lab.sh: private network, mount and PID namespaces;
# nothing touches the host's). Prints one table: medians in ms and ratios.
#
#   sudo bench/podman.sh [N]      (default 20 samples per row)
#
# Each backend has its own Podman (storage, run dir, network files,
# containers.conf); samples alternate between them so noise hits both.
# - run -d -p: `podman run -d -p PORT:80 --network NET busybox httpd`,
#   until the command returns (the container runs, its port is published),
#   on a network with DNS (`podman network create`'s default) and on one
#   without (`--disable-dns`, like Podman's default network). The first
#   container of each network is a warm-up (it builds the bridge; for
#   netavark it starts aardvark-dns), not counted; a published port of
#   each backend must serve a page from outside (checked, untimed).
# - rm -f: `podman rm -f -t 0` of those containers.
# - Podman alone: `podman run -d --network none`, the same container
#   without any network: what Podman, conmon and runc cost by themselves.
# - setup's share: the backend's setup process over the whole run -d -p.
# - backend process: the network backend's setup and teardown processes
#   alone (timed by exectime through a wrapper, in a separate round so the
#   wrapper does not weigh on the rows above).
N=${1:-20}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
NETAVARK_DIR=${NETAVARK_DIR:-/usr/lib/podman}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
command -v podman >/dev/null && [ -x "$NETAVARK_DIR/netavark" ] || { echo "install podman, netavark and aardvark-dns (scripts/deps)" >&2; exit 1; }

results_open podman "bench/podman.sh $*"
results_note "peers: podman $(podman --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), netavark $("$NETAVARK_DIR/netavark" --version | awk '{print $2}') and aardvark-dns $("$NETAVARK_DIR/aardvark-dns" --version 2>/dev/null | awk '{print $2}') ($NETAVARK_DIR)"

W=$BENCH_TMP/podman
CG=$BENCH_CG
# Podman's blob cache goes to /var/lib/containers: a tmpfs of the lab's.
mount -t tmpfs tmpfs /var/lib
# The containers' cgroups live under $CG (bench/lab.sh removes it).
mkdir -p "$W/rootfs/bin" "$W/rootfs/www" "$W/berth-bin" "$W/wrap-berth" "$W/wrap-netavark"
cp /bin/busybox "$W/rootfs/bin/busybox"
for c in $(/bin/busybox --list); do [ "$c" = busybox ] || ln -s busybox "$W/rootfs/bin/$c"; done
echo served > "$W/rootfs/www/index.html"
tar -C "$W/rootfs" -cf "$W/busybox.tar" .
ln -s "$BERTH" "$W/berth-bin/netavark"

# wrapper REAL NAME: a `netavark` that times the real one with exectime and
# appends "setup|teardown µs" to $W/times-NAME.
wrapper() {
    cat > "$W/wrap-$2/netavark" <<EOF
#!/bin/sh
cmd=other; for a; do case \$a in setup|teardown) cmd=\$a;; esac; done
t=\$("$EXECTIME" /dev/stdin "$W/wrap-$2/out.\$\$" "$1" "\$@"); rc=\$?
cat "$W/wrap-$2/out.\$\$"; rm -f "$W/wrap-$2/out.\$\$"
[ \$rc = 0 ] && echo "\$cmd \$t" >> "$W/times-$2"
exit \$rc
EOF
    chmod +x "$W/wrap-$2/netavark"
}
wrapper "$NETAVARK_DIR/netavark" netavark
wrapper "$W/berth-bin/netavark" berth

# conf NAME HELPERS: containers.conf of backend NAME (a wrapped backend
# shares its storage, run dir and networks).
conf() {
    local s=${1#wrapped-}
    cat > "$W/$1.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "netavark"
network_config_dir = "$W/$s/networks"
[engine]
helper_binaries_dir = [$2]
env = ["BERTH_ROOT=$BERTH_ROOT"]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/$s/events.log"
tmp_dir = "$W/$s/tmp"
image_copy_tmp_dir = "$W/$s/tmp"
EOF
}
conf netavark "\"$NETAVARK_DIR\""
conf berth "\"$W/berth-bin\", \"$NETAVARK_DIR\""
conf wrapped-netavark "\"$W/wrap-netavark\", \"$NETAVARK_DIR\""
conf wrapped-berth "\"$W/wrap-berth\", \"$NETAVARK_DIR\""

# pm NAME ARGS...: podman with backend NAME's storage and configuration
# (the wrapped configurations share their backend's storage).
pm() {
    local n=$1 store=${1#wrapped-}; shift
    CONTAINERS_CONF="$W/$n.conf" podman --root "$W/$store/storage" --runroot "$W/$store/runroot" --storage-driver overlay "$@"
}
# timed NAME ARGS...: `podman ARGS` through exectime; prints µs.
timed() {
    local n=$1 store=${1#wrapped-}; shift
    CONTAINERS_CONF="$W/$n.conf" "$EXECTIME" /dev/null /dev/null podman --root "$W/$store/storage" --runroot "$W/$store/runroot" --storage-driver overlay "$@" ||
        { echo "podman ($n) failed: $*" >&2; exit 1; }
}

declare -A SUBNET=([netavark]=10.90 [berth]=10.91)
declare -A PORT0=([netavark]=20000 [berth]=30000)
for b in netavark berth; do
    mkdir -p "$W/$b/tmp"
    pm $b import -q "$W/busybox.tar" localhost/busybox >/dev/null
    pm $b network create --subnet "${SUBNET[$b]}.1.0/24" dnsnet >/dev/null
    pm $b network create --disable-dns --subnet "${SUBNET[$b]}.2.0/24" plain >/dev/null
    for net in dnsnet plain; do
        pm $b run -d --cgroup-parent "$CG" --network $net busybox sleep 3600 >/dev/null
    done
done

run_args() { # BACKEND NET INDEX: a container named NET-INDEX publishing port PORT0+INDEX
    echo "run -d --cgroup-parent $CG --name $2-$3 --network $2 -p $(( ${PORT0[$1]} + $3 )):80 localhost/busybox httpd -f -p 80 -h /www"
}
declare -A T
for i in $(seq 1 "$N"); do
    for net in dnsnet plain; do
        off=0; [ $net = plain ] && off=1000
        for b in netavark berth; do
            # shellcheck disable=SC2046
            T[$b-$net]+="$(timed $b $(run_args $b $net $(( i + off )))) "
        done
    done
    for b in netavark berth; do
        T[$b-none]+="$(timed $b run -d --cgroup-parent "$CG" --network none localhost/busybox sleep 3600) "
    done
done
for b in netavark berth; do
    page=$(ip netns exec outside wget -qO- -T 5 "http://198.51.100.2:$(( ${PORT0[$b]} + 1 ))/index.html" || true)
    [ "$page" = served ] || { echo "$b: the published port does not serve the page" >&2; exit 1; }
done
for i in $(seq 1 "$N"); do
    for b in netavark berth; do
        T[$b-rm]+="$(timed $b rm -f -t 0 "dnsnet-$i") "
    done
done

# The backend processes alone, through the timing wrappers.
M=$(( N < 10 ? N : 10 ))
for i in $(seq 1 "$M"); do
    for b in netavark berth; do
        # shellcheck disable=SC2046
        id=$(pm wrapped-$b $(run_args $b dnsnet $(( i + 2000 ))))
        pm wrapped-$b rm -f -t 0 "$id" >/dev/null
    done
done
proc() { grep "^$2 " "$W/times-$1" | awk '{print $2}' | median_us; }
med() { tr ' ' '\n' <<<"${T[$1]}" | grep . | median_us; }
row() { # LABEL NETAVARK BERTH: ratio = netavark / berth
    awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-44s %9s %9s %8.1fx\n", l, a, b, a / b }'
}
{
    echo "podman $(podman --version | awk '{print $3}') with netavark 1.4 vs berth $("$BERTH" --version | awk '{print $2}'), $N samples (medians, ms; ratio = netavark / berth)"
    printf '%-44s %9s %9s %9s\n' metric netavark berth ratio
    row "run -d -p, network with DNS" "$(med netavark-dnsnet)" "$(med berth-dnsnet)"
    row "run -d -p, network without DNS" "$(med netavark-plain)" "$(med berth-plain)"
    row "rm -f -t 0 (published port)" "$(med netavark-rm)" "$(med berth-rm)"
    row "Podman alone: run -d --network none" "$(med netavark-none)" "$(med berth-none)"
    row "backend process: setup (DNS network)" "$(proc netavark setup)" "$(proc berth setup)"
    row "backend process: teardown" "$(proc netavark teardown)" "$(proc berth teardown)"
    # The network's share of a `podman run -d -p`: its setup process over the
    # whole command (medians of both; subtracting the `--network none` row
    # instead drowns a few ms in the machine's noise).
    share() { awk -v s="$(proc "$1" setup)" -v r="$(med "$1"-dnsnet)" 'BEGIN { printf "%.0f%%", 100 * s / r }'; }
    printf '%-44s %9s %9s\n' "setup's share of run -d -p with DNS" "$(share netavark)" "$(share berth)"
} | results_table
