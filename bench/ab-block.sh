#!/usr/bin/env bash
# One block of bench/ab.sh: in a fresh lab, times BERTH answering CNI
# VERSION, N CNI ADDs and DELs with one published port, and N `run -d -p`
# and `rm -f`; prints "METRIC MICROSECONDS" lines on stdout.
#
#   sudo BERTH=/path/to/berth bench/ab-block.sh N
N=${1:-10}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
need_exectime
mount -t sysfs sysfs /sys
W=$BENCH_TMP/ab; mkdir -p "$W"
t() { "$EXECTIME" "$@" || { echo "failed: ${*:3}" >&2; exit 1; }; }
printf '{"cniVersion":"1.0.0","name":"ab","type":"berth"}\n' >"$W/version"
for _ in $(seq 1 "$N"); do echo "version $(CNI_COMMAND=VERSION t "$W/version" /dev/null "$BERTH")"; done
conf() { printf '{"cniVersion":"1.0.0","name":"ab","type":"berth","bridge":"cni-ab","ipam":{"type":"host-local","ranges":[[{"subnet":"10.79.0.0/16"}]]},"runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]}}\n' "$1"; }
cni() { # CMD ID PORT
    conf "$3" >"$W/conf-$2"
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni t "$W/conf-$2" /dev/null "$BERTH"
}
ip netns add cniwarm; cni ADD cniwarm 19998 >/dev/null
for i in $(seq 1 "$N"); do ip netns add p$i; done
for i in $(seq 1 "$N"); do echo "cni-add $(cni ADD p$i $((21000 + i)))"; done
for i in $(seq 1 "$N"); do echo "cni-del $(cni DEL p$i $((21000 + i)))"; done
"$BERTH" run -d --name warm -p 7999:80 busybox sleep 3600 >/dev/null
for i in $(seq 1 "$N"); do echo "run $(t /dev/null /dev/null "$BERTH" run -d --name c$i -p $((8000 + i)):80 busybox sleep 3600)"; done
for i in $(seq 1 "$N"); do echo "rm $(t /dev/null /dev/null "$BERTH" rm -f c$i)"; done
