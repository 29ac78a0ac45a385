//! The network's own defences (pure): what containers may send onto a
//! bridge, and a guard against the host routing between its own interfaces
//! because berth turned forwarding on.
//!
//! - `bridge berth` checks every frame entering a bridge from a container
//!   port of berth's: the host end of every veth berth makes is in the
//!   interface group [`PORT_GROUP`] from its creation to its deletion
//!   (`meta ibrname` would name the bridge, but kernels built without
//!   `CONFIG_NFT_BRIDGE_META` lack it). Other ports of a berth bridge (the
//!   overlay's VXLAN device, which carries containers checked on their own
//!   hosts) and other tools' bridges are not touched. The frame's
//!   source MAC, its IPv4/IPv6 source and its ARP sender must be the
//!   endpoint's own — one element per (port, MAC, address) in `port_mac`,
//!   `port_ip4`, `port_ip6` and `port_nd`, added with the container's other
//!   elements ([`PortGuard`]). Router advertisements, redirects and DHCP
//!   server replies are dropped whatever their source: a container is never
//!   the router or DHCP server of a berth network. Nothing but ARP, IPv4 and
//!   IPv6 leaves a container port (no VLAN tags, no STP, no LLDP). The check
//!   fails closed: a port of the group without elements (before its
//!   elements are added, after they are removed) sends nothing.
//! - `inet berth`'s `routing_guard` drops forwarded packets that involve
//!   no bridge at all (neither berth's nor another tool's), in the families
//!   listed in `routing_guard`: those whose forwarding berth itself turned
//!   on ([`RoutingGuard`], recorded with the host change). When forwarding
//!   was on before berth, the set is empty and nothing is dropped.
//!
//! These are separate blocks of the same tables so that the skeleton's
//! other chains stay as they were.

use super::element::{render, Element, Field, Set};
use super::Batch;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The interface group of the host ends of berth's container veths
/// (`ip link` shows `group 1650815604`): "bert" in ASCII, far from the
/// small numbers administrators name in `/etc/iproute2/group`.
pub const PORT_GROUP: u32 = 0x6265_7274;

/// The `inet berth` part: the routing guard.
pub(super) const INET_DEFENCE: &str = r#"
table inet berth {
	set routing_guard {
		type nf_proto
		comment "families whose forwarding berth turned on: the host does not route between its own interfaces"
	}
	chain routing_guard {
		type filter hook forward priority filter; policy accept;
		meta nfproto != @routing_guard return
		iifname @bridges return
		oifname @bridges return
		meta iifkind "bridge" return comment "other bridges (Docker, libvirt, LXD, Podman) and frames bridged through br_netfilter"
		meta oifkind "bridge" return
		drop comment "berth turned forwarding on: it routes for its bridges only, not between the host's own interfaces"
	}
}
"#;

/// The `bridge berth` part: what container ports may send.
pub(super) const BRIDGE_DEFENCE: &str = r#"
table bridge berth {
	set port_mac {
		type ifname . ether_addr
		comment "container port . its MAC address"
	}
	set port_ip4 {
		type ifname . ether_addr . ipv4_addr
		comment "container port . MAC . IPv4 address"
	}
	set port_ip6 {
		type ifname . ether_addr . ipv6_addr
		comment "container port . MAC . IPv6 address (global and link-local)"
	}
	set port_nd {
		typeof iifname . ether saddr . @th,64,128
		comment "port_ip6 again, for the target of neighbour advertisements (nft 1.0.6 has no icmpv6 taddr)"
	}
	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		meta iifgroup 0x62657274 jump from_container comment "the host ends of berth's container veths (interface group 'bert')"
	}
	chain from_container {
		iifname . ether saddr != @port_mac drop comment "anti-spoofing: not the container's MAC address"
		icmpv6 type { nd-router-advert, nd-redirect, router-renumbering } drop comment "a container is not a router: router advertisements and redirects"
		icmp type redirect drop comment "a container is not a router: redirects"
		udp sport 67 udp dport 68 drop comment "a container is not a DHCP server"
		udp sport 547 udp dport 546 drop comment "a container is not a DHCPv6 server"
		iifname . arp saddr ether . arp saddr ip @port_ip4 accept
		arp saddr ip 0.0.0.0 iifname . arp saddr ether @port_mac accept comment "ARP probes (RFC 5227)"
		iifname . ether saddr . ip saddr @port_ip4 accept
		icmpv6 type nd-neighbor-advert iifname . ether saddr . @th,64,128 != @port_nd drop comment "anti-spoofing: a neighbour advertisement for another's address"
		iifname . ether saddr . ip6 saddr @port_ip6 accept
		ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld-listener-report, mld2-listener-report } accept comment "duplicate address detection, MLD before a link-local address exists"
		drop comment "anti-spoofing: not the container's own address, or neither ARP, IPv4 nor IPv6"
	}
}
"#;

/// A family whose forwarding berth turned on: an element of
/// `routing_guard`, present as long as the host change is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingGuard {
    /// IPv6 (`net.ipv6.conf.all.forwarding`), else IPv4 (`net.ipv4.ip_forward`).
    pub ipv6: bool,
}

impl RoutingGuard {
    /// The guard of the forwarding sysctl `key`, if it is one.
    pub fn for_sysctl(key: &str) -> Option<RoutingGuard> {
        match key {
            "net.ipv4.ip_forward" => Some(RoutingGuard { ipv6: false }),
            "net.ipv6.conf.all.forwarding" => Some(RoutingGuard { ipv6: true }),
            _ => None,
        }
    }

    /// The element.
    pub fn elements(&self) -> Vec<Element> {
        vec![Element::new(
            Set::RoutingGuard,
            vec![Field::NfProto(self.ipv6)],
        )]
    }

    /// The command adding the element.
    pub fn add(&self) -> Batch {
        render(&[], &self.elements())
    }

    /// Commands removing it (idempotent).
    pub fn remove(&self) -> Batch {
        render(&self.elements(), &[])
    }
}

/// A container's veth on a berth bridge and the addresses it may send
/// from: its MAC, its IPv4 address, its IPv6 address and the link-local
/// address the kernel derives from the MAC (EUI-64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortGuard {
    /// Host end of the veth.
    pub veth: String,
    /// The container end's MAC address.
    pub mac: [u8; 6],
    /// Its IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 address (the link-local one is added with it).
    pub ipv6: Option<Ipv6Addr>,
}

impl PortGuard {
    /// The elements.
    pub fn elements(&self) -> Vec<Element> {
        let head = || vec![Field::Ifname(self.veth.clone()), Field::Ether(self.mac)];
        let with = |f: Field| {
            let mut key = head();
            key.push(f);
            key
        };
        let mut v = vec![Element::new(Set::PortMac, head())];
        if let Some(ip) = self.ipv4 {
            v.push(Element::new(Set::PortIp4, with(Field::Addr(ip.into()))));
        }
        if let Some(ip) = self.ipv6 {
            for a in [ip, link_local(self.mac)] {
                v.push(Element::new(Set::PortIp6, with(Field::Addr(a.into()))));
                v.push(Element::new(Set::PortNd, with(Field::Raw128(a))));
            }
        }
        v
    }

    /// The commands adding the elements.
    pub fn add(&self) -> Batch {
        render(&[], &self.elements())
    }

    /// Commands removing them (idempotent).
    pub fn remove(&self) -> Batch {
        render(&self.elements(), &[])
    }
}

/// The IPv6 link-local address the kernel gives an interface with `mac`
/// (`addrgenmode eui64`): fe80:: + the MAC with the universal/local bit
/// flipped and ff:fe in the middle.
pub fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 0x02,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}
