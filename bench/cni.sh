#!/usr/bin/env bash
# berth as a CNI plugin, side by side with the reference chain (bridge +
# host-local + portmap from Debian's containernetworking-plugins) and
# netavark, in the same run, inside a throwaway lab (bench/lab.sh: a private
# network + mount namespace; nothing touches the host's). Prints one table:
# metric, berth median, peer median, ratio.
#
#   sudo bench/cni.sh [N] [SCALE]      (defaults: 40 samples, 1000 containers)
#
# - ADD: the whole plugin process (for the reference chain: bridge, which
#   runs host-local, then portmap; libcni's own work between them is not
#   counted) attaching a pre-created namespace with one published port.
#   Samples run in rounds of 10 per peer, so noise hits all peers.
#   After every 10th ADD the container must reach its gateway (untimed).
# - DEL: the whole teardown, and a bare `ip link del` of a veth whose peer
#   is in a namespace (the kernel's own cost of what DEL must do).
# - Scale: SCALE containers with a published port each on one berth
#   network: ADD latency at the end vs the start, the total, and berth's
#   nftables rule count before and after (elements grow, rules must not).
#   With REF_SCALE=K in the environment the reference chain is measured
#   at K containers too (slow: ~0.3 s per ADD, more per DEL).
N=${1:-40}
SCALE=${2:-1000}
REF_SCALE=${REF_SCALE:-0}
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/results.sh"
results_open cni "$([ "$REF_SCALE" -gt 0 ] && echo "REF_SCALE=$REF_SCALE ")bench/cni.sh $*"
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/target/release/berth}
CNI=${CNI:-/usr/lib/cni}
NETAVARK=${NETAVARK:-/usr/lib/podman/netavark}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release" >&2; exit 1; }
need_exectime
[ -x "$CNI/bridge" ] || { echo "install containernetworking-plugins (scripts/deps)" >&2; exit 1; }
HAVE_NETAVARK=0; [ -x "$NETAVARK" ] && HAVE_NETAVARK=1
results_note "peers: containernetworking-plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo '?') (bridge + host-local + portmap, $CNI)$([ "$HAVE_NETAVARK" = 1 ] && echo ", netavark $("$NETAVARK" --version | awk '{print $2}')")"
# A sysfs of this namespace (berth reads MACs from it, as a runtime's plugin would).
mount -t sysfs sysfs /sys
W=$BENCH_TMP/cni; mkdir -p "$W/conf" "$W/out" "$W/leases" "$W/netavark"
export CNI_PATH=$CNI CNI_IFNAME=eth0

# Each plugin process is timed by exectime (crates/berth-bench): spawned as
# a runtime spawns it, without bash's fork of itself in the measurement.
plugin() { # plugin CMD BIN CONTAINERID CONFFILE OUTFILE: runs one plugin, prints its time in µs
    CNI_COMMAND=$1 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$3 "$EXECTIME" "$4" "$5" "$2" || { echo "$2 $1 $3 failed: $(cat "$5")" >&2; exit 1; }
}
check_ping() { ip netns exec "$1" busybox ping -c1 -W2 "$2" >/dev/null || { echo "$1 cannot reach $2 after ADD" >&2; exit 1; }; }

berth_conf() { # NAME SUBNET PORT
    printf '{"cniVersion":"1.0.0","name":"%s","type":"berth","bridge":"cni-%s","ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]]},"runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]}}\n' "$1" "$1" "$2" "$3"
}
bridge_conf() {
    printf '{"cniVersion":"1.0.0","name":"refnet","type":"bridge","bridge":"cni-ref","isGateway":true,"isDefaultGateway":true,"ipMasq":true,"hairpinMode":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.77.0.0/16"}]],"dataDir":"%s"}}\n' "$W/leases"
}
portmap_conf() { # PORT PREVRESULT-FILE
    printf '{"cniVersion":"1.0.0","name":"refnet","type":"portmap","runtimeConfig":{"portMappings":[{"hostPort":%s,"containerPort":80,"protocol":"tcp"}]},"prevResult":%s}\n' "$1" "$(cat "$2")"
}
netavark_conf() { # ID IP PORT
    printf '{"container_id":"%s","container_name":"%s","port_mappings":[{"host_ip":"","container_port":80,"host_port":%s,"range":1,"protocol":"tcp"}],"networks":{"nvnet":{"interface_name":"eth0","static_ips":["%s"],"aliases":null,"static_mac":null}},"network_info":{"nvnet":{"name":"nvnet","id":"%064d","driver":"bridge","network_interface":"nvbr0","subnets":[{"subnet":"10.76.0.0/16","gateway":"10.76.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false,"ipam_options":{"driver":"host-local"},"options":null}}}\n' "$1" "$1" "$3" "$2" 7
}

declare -a B_ADD R_ADD N_ADD B_DEL R_DEL N_DEL LINKDEL
# Warm-up: the first ADD sets berth up and creates its network.
ip netns add bw; berth_conf bench 10.78.0.0/16 19999 > "$W/conf/bw"
plugin ADD "$BERTH" bw "$W/conf/bw" "$W/out/bw" >/dev/null

# Samples run in rounds of ROUND per peer (berth, then the chain, then
# netavark): each peer's noise is spread over the run, and a peer's
# leftovers (its nftables transactions' grace periods, which the next
# process closing a netfilter socket waits for) hit another peer only at
# the round boundaries.
ROUND=${ROUND:-10}
berth_add() {
    berth_conf bench 10.78.0.0/16 $((20000 + $1)) > "$W/conf/b$1"
    B_ADD+=("$(plugin ADD "$BERTH" b$1 "$W/conf/b$1" "$W/out/b$1")")
    [ $(($1 % 10)) = 1 ] && check_ping b$1 10.78.0.1
    return 0
}
ref_add() {
    local t t2
    bridge_conf > "$W/conf/r$1.bridge"
    t=$(plugin ADD "$CNI/bridge" r$1 "$W/conf/r$1.bridge" "$W/out/r$1.bridge")
    portmap_conf $((30000 + $1)) "$W/out/r$1.bridge" > "$W/conf/r$1.portmap"
    t2=$(plugin ADD "$CNI/portmap" r$1 "$W/conf/r$1.portmap" "$W/out/r$1")
    R_ADD+=("$((t + t2))")
    [ $(($1 % 10)) = 1 ] && check_ping r$1 10.77.0.1
    return 0
}
netavark_add() {
    netavark_conf n$1 "10.76.$(($1 / 250)).$(($1 % 250 + 2))" $((40000 + $1)) > "$W/conf/n$1"
    N_ADD+=("$("$EXECTIME" "$W/conf/n$1" "$W/out/n$1" "$NETAVARK" --config "$W/netavark" setup /run/netns/n$1)")
}
berth_del() { B_DEL+=("$(plugin DEL "$BERTH" b$1 "$W/conf/b$1" /dev/null)"); }
ref_del() {
    local t t2
    t=$(plugin DEL "$CNI/portmap" r$1 "$W/conf/r$1.portmap" /dev/null)
    t2=$(plugin DEL "$CNI/bridge" r$1 "$W/conf/r$1.bridge" /dev/null)
    R_DEL+=("$((t + t2))")
}
netavark_del() {
    N_DEL+=("$("$EXECTIME" "$W/conf/n$1" /dev/null "$NETAVARK" --config "$W/netavark" teardown /run/netns/n$1)")
}
# The veths of the baselines are made as berth makes its own: one queue
# per end (kernel/msg.rs `new_veth`), which the kernel creates and deletes
# with less work than the default of one per CPU.
Q1="numtxqueues 1 numrxqueues 1"
link_del() {
    # shellcheck disable=SC2086 # $Q1 is two options
    ip link add vbench $Q1 type veth peer name eth9 $Q1 netns b$1
    LINKDEL+=("$("$EXECTIME" /dev/null /dev/null ip link del vbench)")
}
rounds() { # rounds FUNCTION...: each function over 1..N, ROUND at a time
    local start end f i
    for start in $(seq 1 "$ROUND" "$N"); do
        end=$((start + ROUND - 1)); [ "$end" -gt "$N" ] && end=$N
        for f in "$@"; do
            for i in $(seq "$start" "$end"); do "$f" "$i"; done
        done
    done
}
# Every peer's namespaces exist before the first sample ("pre-created
# netns"): creating one right before an ADD would time the kernel's
# namespace setup work still settling.
for i in $(seq 1 "$N"); do ip netns add b$i; ip netns add r$i; ip netns add n$i; done
echo "ADD: $N samples each (berth, reference chain, netavark)..." >&2
if [ "$HAVE_NETAVARK" = 1 ]; then rounds berth_add ref_add netavark_add; else rounds berth_add ref_add; fi
# A published port of berth answers from outside (untimed).
mkdir -p "$W/www"; echo hello-bench > "$W/www/index.html"
ip netns exec b1 busybox httpd -p 80 -h "$W/www"
ip netns exec outside curl -sf -m 2 http://198.51.100.2:20001/ | grep -q hello-bench || { echo "berth's published port does not answer" >&2; exit 1; }

echo "DEL: $N samples each, and a bare ip link del..." >&2
if [ "$HAVE_NETAVARK" = 1 ]; then rounds berth_del ref_del netavark_del link_del; else rounds berth_del ref_del link_del; fi
nft list map inet berth ports4 | grep -q "tcp . 20001 " && { echo "berth's port still forwards after DEL" >&2; exit 1; }
ip netns exec b1 ip link show eth0 >/dev/null 2>&1 && { echo "berth's veth outlived DEL" >&2; exit 1; }

rules() { nft -j list ruleset | jq '[.nftables[] | select(.rule.table == "berth")] | length'; }
scale() { # scale TAG FROM TO ADD-FUNCTION: attaches containers FROM..TO; prints per-ADD µs
    local tag=$1 from=$2 to=$3 fn=$4 i
    for i in $(seq "$from" "$to"); do ip netns add "$tag$i"; done
    for i in $(seq "$from" "$to"); do "$fn" "$tag" "$i"; done
}
# The kernel's own floor for what an ADD does to a bridge with n ports: a
# bare veth pair created into bridge cni-scale (its peer in another
# namespace) by one `ip` process; prints per-creation µs. The bridge's
# per-port work grows with its port count, whoever asks for the port.
kernel_floor() {
    local i
    ip netns add kfloor 2>/dev/null || true
    for i in $(seq 1 20); do
        # shellcheck disable=SC2086 # $Q1 is two options
        "$EXECTIME" /dev/null /dev/null ip link add kf$i mtu 1500 $Q1 master cni-scale up type veth peer kf$i $Q1 netns kfloor
    done
    for i in $(seq 1 20); do ip link del kf$i; done
}
berth_scale_add() {
    berth_conf scale 10.60.0.0/16 $((10000 + $2)) > "$W/conf/$1$2"
    plugin ADD "$BERTH" "$1$2" "$W/conf/$1$2" /dev/null
}
ref_scale_add() {
    bridge_conf > "$W/conf/$1$2.bridge"
    local t t2
    t=$(plugin ADD "$CNI/bridge" "$1$2" "$W/conf/$1$2.bridge" "$W/out/$1$2.bridge")
    portmap_conf $((50000 + $2)) "$W/out/$1$2.bridge" > "$W/conf/$1$2.portmap"
    t2=$(plugin ADD "$CNI/portmap" "$1$2" "$W/conf/$1$2.portmap" /dev/null)
    echo $((t + t2))
}
echo "Scale: $SCALE containers on one berth network..." >&2
RULES_BEFORE=$(rules)
mapfile -t S < <(scale s 1 20 berth_scale_add)
mapfile -t K_FIRST < <(kernel_floor)
mapfile -t -O 20 S < <(scale s 21 "$SCALE" berth_scale_add)
mapfile -t K_LAST < <(kernel_floor)
RULES_AFTER=$(rules)
check_ping "s$SCALE" 10.60.0.1
S_FIRST=$(printf '%s\n' "${S[@]:0:20}" | median_us)
S_LAST=$(printf '%s\n' "${S[@]: -20}" | median_us)
S_TOTAL=$(printf '%s\n' "${S[@]}" | awk '{s+=$1} END {printf "%.2f", s/1e6}')
if [ "$REF_SCALE" -gt 0 ]; then
    echo "Scale: $REF_SCALE containers with the reference chain..." >&2
    mapfile -t RS < <(scale q 1 "$REF_SCALE" ref_scale_add)
    R_LAST=$(printf '%s\n' "${RS[@]: -20}" | median_us)
fi

row() { # METRIC BERTH PEER [RATIO-FORMULA: peer/berth by default]
    local r=-
    [ "$3" != - ] && r=$(awk -v b="$2" -v p="$3" 'BEGIN{ if (b > 0) printf "%.1fx", p/b; else print "-" }')
    printf '%-44s %12s %12s %9s\n' "$1" "$2" "$3" "${4:-$r}"
}
med() { printf '%s\n' "$@" | median_us; }
{
printf 'berth %s as a CNI plugin, %s samples (medians, ms; ratio = peer / berth)\n' "$("$BERTH" --version | awk '{print $2}')" "$N"
printf '%-44s %12s %12s %9s\n' metric berth peer ratio
row "ADD, 1 port vs bridge+host-local+portmap" "$(med "${B_ADD[@]}")" "$(med "${R_ADD[@]}")"
[ "$HAVE_NETAVARK" = 1 ] && row "ADD, 1 port vs netavark 1.4 setup" "$(med "${B_ADD[@]}")" "$(med "${N_ADD[@]}")"
row "DEL vs bridge+host-local+portmap" "$(med "${B_DEL[@]}")" "$(med "${R_DEL[@]}")"
[ "$HAVE_NETAVARK" = 1 ] && row "DEL vs netavark 1.4 teardown" "$(med "${B_DEL[@]}")" "$(med "${N_DEL[@]}")"
bd=$(med "${B_DEL[@]}"); ld=$(med "${LINKDEL[@]}")
row "DEL vs bare 'ip link del' (berth / ip)" "$bd" "$ld" "$(awk -v b="$bd" -v p="$ld" 'BEGIN{printf "%.2fx", b/p}')"
row "ADD at n=$SCALE vs n=1..20 (n=$SCALE / n=1)" "$S_LAST" "$S_FIRST" "$(awk -v b="$S_LAST" -v p="$S_FIRST" 'BEGIN{printf "%.2fx", b/p}')"
kf=$(med "${K_FIRST[@]}"); kl=$(med "${K_LAST[@]}")
row "kernel floor: bare veth, n=$SCALE / n=20" "$kl" "$kf" "$(awk -v b="$kl" -v p="$kf" 'BEGIN{printf "%.2fx", b/p}')"
[ "$REF_SCALE" -gt 0 ] && row "ADD at n=$SCALE vs chain at n=$REF_SCALE" "$S_LAST" "$R_LAST"
row "total for $SCALE ADDs (s)" "$S_TOTAL" - -
row "berth nftables rules, 0 -> $SCALE containers" "$RULES_BEFORE" "$RULES_AFTER" "$([ "$RULES_BEFORE" = "$RULES_AFTER" ] && echo same || echo GREW)"
} | results_table
