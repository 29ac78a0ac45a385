//! The static skeleton of berth's nftables tables: sets, maps and chains.
//! Its rules never change at run time; only set and map elements do.

use super::defence::{BRIDGE_DEFENCE, INET_DEFENCE};
use super::vxlan_guard::INET_VXLAN_GUARD;
use super::Batch;

/// Name of berth's tables (`inet berth` and `bridge berth`).
pub const TABLE: &str = "berth";

/// A fingerprint of the skeleton (FNV-1a of its text): a berth whose
/// skeleton differs from the one loaded in the kernel re-renders its tables.
pub fn skeleton_version() -> u64 {
    INET_SKELETON
        .bytes()
        .chain(BRIDGE_SKELETON.bytes())
        .chain(INET_DEFENCE.bytes())
        .chain(BRIDGE_DEFENCE.bytes())
        .chain(INET_VXLAN_GUARD.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// The `inet berth` and `bridge berth` tables with all chains and rules and
/// no elements (the network's defences in blocks of their own, see
/// `defence.rs`, and the overlay's VXLAN guard, `vxlan_guard.rs`).
pub fn skeleton() -> Batch {
    let mut b = Batch::new();
    b.push(INET_SKELETON.trim().to_string());
    b.push(BRIDGE_SKELETON.trim().to_string());
    b.push(INET_DEFENCE.trim().to_string());
    b.push(BRIDGE_DEFENCE.trim().to_string());
    b.push(INET_VXLAN_GUARD.trim().to_string());
    b
}

const INET_SKELETON: &str = r#"
table inet berth {
	comment "managed by berth: do not edit, run 'berth system reconcile' to restore"
	set bridges {
		type ifname
		comment "every bridge of a berth network"
	}
	set same_net {
		type ifname . ifname
		comment "bridge . bridge: traffic that stays inside one network"
	}
	set internal {
		type ifname
		comment "bridges of --internal networks: no traffic in or out"
	}
	set no_icc {
		type ifname
		comment "bridges with enable_icc=false"
	}
	set masq {
		type ifname
		comment "bridges whose outbound traffic is masqueraded"
	}
	set unisolated {
		type ifname
		comment "bridges of networks that reach each other (Podman networks without isolate)"
	}
	set routed4 {
		type ifname
		comment "bridges whose IPv4 gateway mode is routed: no NAT, published ports reached at the containers' own addresses"
	}
	set routed6 {
		type ifname
		comment "bridges whose IPv6 gateway mode is routed"
	}
	set unprotected4 {
		type ifname
		comment "bridges whose IPv4 gateway mode is nat-unprotected: no filtering of inbound traffic"
	}
	set unprotected6 {
		type ifname
		comment "bridges whose IPv6 gateway mode is nat-unprotected"
	}
	set open4 {
		type ipv4_addr . inet_proto . inet_service
		flags interval
		comment "published ports of containers on routed IPv4 networks: container address . proto . port"
	}
	set open6 {
		type ipv6_addr . inet_proto . inet_service
		flags interval
		comment "published ports of containers on routed IPv6 networks"
	}
	map ports4 {
		type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
		flags interval
		comment "published IPv4 ports: host address . proto . port -> container address . port"
	}
	map ports4_keep {
		type ipv4_addr . inet_proto . inet_service : ipv4_addr
		flags interval
		comment "published IPv4 port ranges that keep their port numbers"
	}
	map ports6 {
		type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
		flags interval
		comment "published IPv6 ports"
	}
	map ports6_keep {
		type ipv6_addr . inet_proto . inet_service : ipv6_addr
		flags interval
		comment "published IPv6 port ranges that keep their port numbers"
	}
	chain guard {
		type filter hook prerouting priority raw; policy accept;
		iifname @bridges ip daddr 127.0.0.0/8 drop comment "containers never reach the host's loopback"
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local ip daddr != 127.0.0.0/8 jump published comment "never DNAT loopback from the network (moby#45610)"
		fib daddr type local ip6 daddr != ::1 jump published
	}
	chain output {
		type nat hook output priority -100; policy accept;
		fib daddr type local meta nfproto ipv4 jump published comment "the host's own connections, localhost included"
		fib daddr type local ip6 daddr != ::1 jump published
	}
	chain published {
		meta l4proto { tcp, udp } dnat ip to ip daddr . meta l4proto . th dport map @ports4
		meta l4proto { tcp, udp } dnat ip to ip daddr . meta l4proto . th dport map @ports4_keep
		meta l4proto { tcp, udp } dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6
		meta l4proto { tcp, udp } dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6_keep
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname @bridges ip saddr 127.0.0.0/8 masquerade comment "localhost to a published port"
		oifname @bridges ct status dnat iifname @bridges masquerade comment "hairpin: a container to a published port, routed from its bridge"
		oifname @bridges ct status dnat iif 0 fib saddr type != local masquerade comment "hairpin bridged back by br_netfilter, which gives no input interface; not the host's own connections"
		iifname @routed4 meta nfproto ipv4 accept comment "gateway_mode_ipv4=routed: containers leave with their own addresses"
		iifname @routed6 meta nfproto ipv6 accept
		iifname @masq oifname != @bridges masquerade comment "outbound NAT"
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname . oifname @same_net goto same_net
		iifname @internal drop comment "internal networks do not leave their bridge"
		oifname @internal drop
		oifname @bridges ct status dnat accept comment "published ports"
		iifname @unisolated oifname @unisolated accept comment "networks not isolated from each other (netavark's default)"
		oifname @routed4 meta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @open4 accept comment "routed: published ports at the containers' own addresses, from anywhere (other networks too, as with Docker)"
		oifname @routed6 meta l4proto { tcp, udp } ip6 daddr . meta l4proto . th dport @open6 accept
		iifname @bridges oifname @bridges drop comment "networks are isolated from each other"
		oifname @routed4 meta l4proto icmp accept comment "routed: ICMP reaches the containers, as with Docker"
		oifname @routed6 meta l4proto ipv6-icmp accept
		oifname @unprotected4 meta nfproto ipv4 accept comment "gateway_mode_ipv4=nat-unprotected: every port of the containers is reachable"
		oifname @unprotected6 meta nfproto ipv6 accept
		oifname @bridges ct state established,related accept
		oifname @bridges drop comment "no unsolicited inbound traffic to containers"
	}
	chain same_net {
		ct status dnat accept
		iifname @no_icc drop comment "enable_icc=false"
	}
	set dns4 {
		type ipv4_addr
		comment "IPv4 gateways where the embedded DNS listens"
	}
	set dns6 {
		type ipv6_addr
		comment "IPv6 gateways where the embedded DNS listens"
	}
	chain input {
		type filter hook input priority filter; policy accept;
		meta l4proto { tcp, udp } th dport 53 ip daddr @dns4 iifname != @bridges drop comment "the embedded DNS serves berth's bridges only, not the LAN"
		meta l4proto { tcp, udp } th dport 53 ip6 daddr @dns6 iifname != @bridges drop
	}
}
"#;

const BRIDGE_SKELETON: &str = r#"
table bridge berth {
	comment "managed by berth: enable_icc=false without br_netfilter, and what containers may send"
	set no_icc_ports {
		type ifname
		comment "host ends of the veths of enable_icc=false networks"
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname @no_icc_ports oifname @no_icc_ports ether type { ip, ip6 } meta pkttype != host drop comment "frames to the host that br_netfilter DNATs to a published port are pkttype host"
	}
}
"#;
