#!/usr/bin/env bash
# One block of bench/ab.sh: in a fresh lab, two berth binaries OLD and NEW
# on one state root, sample after sample alternating (same store, same
# network, the same load): CNI VERSION, N CNI ADDs and DELs with one
# published port, N `run -d -p` and `rm -f` each. Prints "WHICH METRIC
# MICROSECONDS" lines on stdout.
#
#   sudo bench/ab-block.sh OLD NEW N
OLD=$1 NEW=$2 N=${3:-10}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
need_exectime
mount -t sysfs sysfs /sys
W=$BENCH_TMP/ab; mkdir -p "$W"
t() { "$EXECTIME" "$@" || { echo "failed: ${*:3}" >&2; exit 1; }; }
# each I: the two binaries for sample I, the older first in odd samples.
each() { if [ $(($1 % 2)) = 1 ]; then echo "old $OLD new $NEW"; else echo "new $NEW old $OLD"; fi; }
printf '{"cniVersion":"1.0.0","name":"ab","type":"berth"}\n' >"$W/version"
conf() { printf '{"cniVersion":"1.0.0","name":"ab","type":"berth","bridge":"cni-ab","ipam":{"type":"host-local","ranges":[[{"subnet":"10.79.0.0/16"}]]},"runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]}}\n' "$1"; }
cni() { # BERTH CMD ID PORT
    conf "$4" >"$W/conf-$3"
    CNI_COMMAND=$2 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni t "$W/conf-$3" /dev/null "$1"
}
ip netns add cniwarm; cni "$OLD" ADD cniwarm 19998 >/dev/null
"$OLD" run -d --name warm -p 7999:80 busybox sleep 3600 >/dev/null
for i in $(seq 1 "$N"); do
    set -- $(each "$i")
    for k in 1 3; do
        w=${!k}; b=${@:k+1:1}
        echo "$w version $(CNI_COMMAND=VERSION t "$W/version" /dev/null "$b")"
        ip netns add "n$w$i"
        echo "$w cni-add $(cni "$b" ADD "n$w$i" $((21000 + i * 2 + k)))"
        echo "$w run $(t /dev/null /dev/null "$b" run -d --name "$w$i" -p $((8000 + i * 2 + k)):80 busybox sleep 3600)"
    done
    for k in 1 3; do
        w=${!k}; b=${@:k+1:1}
        echo "$w cni-del $(cni "$b" DEL "n$w$i" $((21000 + i * 2 + k)))"
        echo "$w rm $(t /dev/null /dev/null "$b" rm -f "$w$i")"
    done
done
