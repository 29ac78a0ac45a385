#!/usr/bin/env bash
# A burst of CNI DELs, as a runtime tearing down N pods issues them: N
# attachments on one berth network deleted one after another. Reports the
# time of each DEL as the runtime sees it (median) and the time until every
# kernel object is gone (the last retired veth reaped, see
# docs/decisions/0017-retired-veths.md), beside the same N veth pairs
# deleted by N bare `ip link del` (one process each) and by one
# `ip -batch` of N deletions (one process, one grace period per link).
#
#   sudo bench/del-burst.sh [N]      (default 1000)
N=${1:-1000}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open del-burst "bench/del-burst.sh $*"
results_note "peer: $(ip -V) deleting the same number of veth pairs"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
mount -t sysfs sysfs /sys
W=$BENCH_TMP/burst; mkdir -p "$W"
export CNI_PATH=/usr/lib/cni CNI_IFNAME=eth0
RETIRED=0x62657264
printf '{"cniVersion":"1.0.0","name":"burst","type":"berth","bridge":"cni-burst","ipam":{"type":"host-local","ranges":[[{"subnet":"10.80.0.0/16"}]]}}\n' >"$W/conf"
plugin() { # CMD ID: one plugin run; prints its wall time (µs)
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 "$EXECTIME" "$W/conf" /dev/null "$BERTH" ||
        { echo "berth $1 $2 failed" >&2; exit 1; }
}
now() { date +%s%N; }
veths() { ip -o link | grep -c ': veth' || true; }
wait_gone() { # until no veth and no retired link is left (60 s at most)
    for _ in $(seq 600); do
        [ "$(veths)" = 0 ] && [ "$(ip -o link show group $RETIRED | wc -l)" = 0 ] && return 0
        sleep 0.1
    done
    echo "kernel objects left after 60 s" >&2; exit 1
}
echo "ADD: $N attachments..." >&2
for i in $(seq 1 "$N"); do ip netns add n$i; done
for i in $(seq 1 "$N"); do plugin ADD n$i >/dev/null; done
echo "DEL: $N, one after another..." >&2
t0=$(now)
for i in $(seq 1 "$N"); do plugin DEL n$i >>"$W/del.wall"; done
t1=$(now)
wait_gone
t2=$(now)
pairs() { # the same number of veth pairs, peers in the same namespaces
    for i in $(seq 1 "$N"); do echo "link add bv$i type veth peer name eth0 netns n$i"; done >"$W/add.batch"
    ip -batch "$W/add.batch"
}
echo "bare ip link del: $N processes..." >&2
pairs
t3=$(now)
for i in $(seq 1 "$N"); do "$EXECTIME" /dev/null /dev/null ip link del bv$i >>"$W/ip.wall"; done
t4=$(now)
echo "ip -batch of $N deletions..." >&2
pairs
for i in $(seq 1 "$N"); do echo "link del bv$i"; done >"$W/del.batch"
t5=$(now)
ip -batch "$W/del.batch"
t6=$(now)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
b_del=$(median_us <"$W/del.wall"); i_del=$(median_us <"$W/ip.wall")
b_all=$(secs "$t0" "$t2"); i_all=$(secs "$t3" "$t4"); batch=$(secs "$t5" "$t6")
{
printf 'berth %s, a burst of %s CNI DELs (medians, ms; totals, s; ratio = peer / berth)\n' "$("$BERTH" --version | awk '{print $2}')" "$N"
printf '%-58s %8s %8s %8s\n' metric berth peer ratio
printf '%-58s %8s %8s %8s\n' "one DEL as the runtime sees it vs one bare ip link del" "$b_del" "$i_del" "$(ratio "$b_del" "$i_del")"
printf '%-58s %8s %8s %8s\n' "$N DELs until every veth is gone vs $N ip link del" "$b_all" "$i_all" "$(ratio "$b_all" "$i_all")"
printf '%-58s %8s %8s %8s\n' "  of which the DELs themselves" "$(secs "$t0" "$t1")" - -
printf '%-58s %8s %8s %8s\n' "$N deletions in one ip -batch process" - "$batch" -
} | results_table
