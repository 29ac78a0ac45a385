#!/usr/bin/env bash
# Where a CNI ADD and DEL of berth spend their time: N attachments (one
# published port each) with BERTH_TRACE_STEPS=1, which makes berth print
# the time of each phase and plan step on stderr; prints the median of
# each, in the order they happen, next to the whole process's wall time
# (exectime) and that of a process doing nothing (/bin/true).
#
#   sudo bench/cni-phases.sh [N]        (default 40)
N=${1:-40}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open cni-phases "bench/cni-phases.sh $*"
results_note "no peer: berth's own phases (BERTH_TRACE_STEPS=1)"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
mount -t sysfs sysfs /sys
W=$BENCH_TMP/phases; mkdir -p "$W"
export CNI_PATH=/usr/lib/cni CNI_IFNAME=eth0
conf() { # PORT
    printf '{"cniVersion":"1.0.0","name":"phases","type":"berth","bridge":"cni-ph","ipam":{"type":"host-local","ranges":[[{"subnet":"10.79.0.0/16"}]]},"runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]}}\n' "$1"
}
plugin() { # CMD ID PORT: one plugin run, stderr kept; prints its wall time (µs)
    conf "$3" >"$W/conf-$2"
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 BERTH_TRACE_STEPS=1 \
        "$EXECTIME" "$W/conf-$2" /dev/null "$BERTH" 2>>"$W/$1.trace" || { echo "berth $1 $2 failed" >&2; exit 1; }
}
ip netns add warm; plugin ADD warm 19998 >/dev/null   # creates the network
: >"$W/ADD.trace"
for i in $(seq 1 "$N"); do ip netns add p$i; done
for i in $(seq 1 "$N"); do echo "$(plugin ADD p$i $((21000 + i)))" >>"$W/ADD.wall"; done
for i in $(seq 1 "$N"); do echo "$(plugin DEL p$i $((21000 + i)))" >>"$W/DEL.wall"; done
for i in $(seq 1 "$N"); do "$EXECTIME" /dev/null /dev/null /bin/true >>"$W/true.wall"; done

# phases FILE: the median (ms) of every "berth: WHAT took DURATION" line,
# by WHAT (step numbers kept: step add:3 is the fourth step of an ADD).
phases() {
    sed -n 's/^berth: \(.*\) took \([0-9.]*\)\(ns\|µs\|ms\|s\)\( (total.*)\)\{0,1\}$/\2 \3 \1/p' "$1" |
        awk '{ v = $1; u = $2; $1 = ""; $2 = ""; k = substr($0, 3)
               if (u == "ns") v /= 1e6; else if (u == "µs") v /= 1e3; else if (u == "s") v *= 1e3
               if (!(k in n)) order[++m] = k
               vals[k, ++n[k]] = v }
             END { for (i = 1; i <= m; i++) { k = order[i]; c = n[k]
                     for (a = 1; a <= c; a++) x[a] = vals[k, a]
                     for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
                     med = (c % 2) ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
                     printf "  %-52s %8.2f\n", k, med } }'
}
{
printf 'berth %s, CNI ADD and DEL with one published port: medians of %s, ms\n' "$("$BERTH" --version | awk '{print $2}')" "$N"
printf '%-54s %8s\n' "whole ADD process (exectime)" "$(median_us <"$W/ADD.wall")"
phases "$W/ADD.trace"
printf '%-54s %8s\n' "whole DEL process (exectime)" "$(median_us <"$W/DEL.wall")"
phases "$W/DEL.trace"
printf '%-54s %8s\n' "a process doing nothing (/bin/true, exectime)" "$(median_us <"$W/true.wall")"
} | results_table
