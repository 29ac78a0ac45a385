//! Set and map elements as data: built by the planner, carried in plans,
//! read back by topology, doctor and conntrack, and turned into bytes or
//! text only where they meet the kernel (`kernel::nftnl` encodes them for
//! netlink; [`render`] writes `nft -f` text for libnftables and the golden
//! files).

use crate::model::Proto;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The family of one of berth's two tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `inet berth`.
    Inet,
    /// `bridge berth`.
    Bridge,
}

impl Family {
    /// As nft writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Bridge => "bridge",
        }
    }
}

/// The sets and maps of berth's tables that elements come and go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Set {
    /// Berth's bridges (`ifname`).
    Bridges,
    /// Pairs of the same bridge (`ifname . ifname`).
    SameNet,
    /// Bridges of `--internal` networks.
    Internal,
    /// Bridges of `enable_icc=false` networks.
    NoIcc,
    /// Bridges whose outbound traffic is masqueraded.
    Masq,
    /// Bridges of networks that reach each other (Podman networks without
    /// `isolate`).
    Unisolated,
    /// Retired: the IPv4 subnets of berth's networks, which the hairpin
    /// rule matched before it matched bridges instead (an interval set's
    /// every change cost time growing with the networks). Only plans
    /// recorded by earlier versions name it, and reading them drops its
    /// elements ([`Set::is_retired`]); the skeleton has no such set.
    Subnets4,
    /// Retired: the IPv6 subnets (as `Subnets4`).
    Subnets6,
    /// IPv4 gateways where the embedded DNS listens.
    Dns4,
    /// IPv6 gateways where the embedded DNS listens.
    Dns6,
    /// Published IPv4 ports: host address . proto . ports → address . port.
    Ports4,
    /// Published IPv4 port ranges that keep their numbers → address.
    Ports4Keep,
    /// Published IPv6 ports.
    Ports6,
    /// Published IPv6 port ranges that keep their numbers.
    Ports6Keep,
    /// Families whose forwarding berth turned on (`nf_proto`).
    RoutingGuard,
    /// Container veths on `enable_icc=false` networks (bridge table).
    NoIccPorts,
    /// Container port . its MAC.
    PortMac,
    /// Container port . MAC . IPv4 address.
    PortIp4,
    /// Container port . MAC . IPv6 address.
    PortIp6,
    /// `port_ip6` again, keyed by the raw target of neighbour adverts.
    PortNd,
    /// Bridges whose IPv4 gateway mode is `routed` (no NAT).
    Routed4,
    /// Bridges whose IPv6 gateway mode is `routed`.
    Routed6,
    /// Bridges whose IPv4 gateway mode is `nat-unprotected`.
    Unprotected4,
    /// Bridges whose IPv6 gateway mode is `nat-unprotected`.
    Unprotected6,
    /// Published ports of containers on `routed` IPv4 networks, reached at
    /// the container's own address: address . proto . ports.
    Open4,
    /// The same for `routed` IPv6 networks.
    Open6,
    /// VNIs of this host's overlay networks (the VXLAN guard).
    VxlanVnis,
    /// Tunnel endpoints of the hosts the cluster store lists (the VXLAN
    /// guard).
    VxlanVteps,
}

impl Set {
    /// Every set of the skeleton (not the retired ones).
    pub const ALL: [Set; 26] = [
        Set::Bridges,
        Set::SameNet,
        Set::Internal,
        Set::NoIcc,
        Set::Masq,
        Set::Unisolated,
        Set::Dns4,
        Set::Dns6,
        Set::Ports4,
        Set::Ports4Keep,
        Set::Ports6,
        Set::Ports6Keep,
        Set::RoutingGuard,
        Set::NoIccPorts,
        Set::PortMac,
        Set::PortIp4,
        Set::PortIp6,
        Set::PortNd,
        Set::Routed4,
        Set::Routed6,
        Set::Unprotected4,
        Set::Unprotected6,
        Set::Open4,
        Set::Open6,
        Set::VxlanVnis,
        Set::VxlanVteps,
    ];

    /// Its table's family.
    pub fn family(self) -> Family {
        match self {
            Set::NoIccPorts | Set::PortMac | Set::PortIp4 | Set::PortIp6 | Set::PortNd => {
                Family::Bridge
            }
            _ => Family::Inet,
        }
    }

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Set::Bridges => "bridges",
            Set::SameNet => "same_net",
            Set::Internal => "internal",
            Set::NoIcc => "no_icc",
            Set::Masq => "masq",
            Set::Unisolated => "unisolated",
            Set::Subnets4 => "subnets4",
            Set::Subnets6 => "subnets6",
            Set::Dns4 => "dns4",
            Set::Dns6 => "dns6",
            Set::Ports4 => "ports4",
            Set::Ports4Keep => "ports4_keep",
            Set::Ports6 => "ports6",
            Set::Ports6Keep => "ports6_keep",
            Set::RoutingGuard => "routing_guard",
            Set::NoIccPorts => "no_icc_ports",
            Set::PortMac => "port_mac",
            Set::PortIp4 => "port_ip4",
            Set::PortIp6 => "port_ip6",
            Set::PortNd => "port_nd",
            Set::Routed4 => "routed4",
            Set::Routed6 => "routed6",
            Set::Unprotected4 => "unprotected4",
            Set::Unprotected6 => "unprotected6",
            Set::Open4 => "open4",
            Set::Open6 => "open6",
            Set::VxlanVnis => "vxlan_vnis",
            Set::VxlanVteps => "vxlan_vteps",
        }
    }

    /// True for a set the skeleton no longer has: its elements, in plans
    /// recorded by an earlier version, are dropped when the plan is read.
    pub fn is_retired(self) -> bool {
        matches!(self, Set::Subnets4 | Set::Subnets6)
    }

    /// True for the published-port maps.
    pub fn is_ports(self) -> bool {
        matches!(
            self,
            Set::Ports4 | Set::Ports4Keep | Set::Ports6 | Set::Ports6Keep
        )
    }
}

/// One field of an element's key or value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// An interface name.
    Ifname(String),
    /// A MAC address.
    Ether([u8; 6]),
    /// One address.
    Addr(IpAddr),
    /// A prefix of an interval key: a subnet, or `0.0.0.0/0` for every
    /// address.
    Prefix(IpNet),
    /// tcp or udp.
    Proto(Proto),
    /// A port, or a range of ports (first, last).
    Ports(u16, u16),
    /// An IPv6 address matched as a raw 128-bit payload (`port_nd`, as nft
    /// 1.0.6 has no `icmpv6 taddr`).
    Raw128(Ipv6Addr),
    /// A family of the routing guard: IPv6, else IPv4.
    NfProto(bool),
    /// A VXLAN network identifier (24 bits).
    Vni(u32),
}

impl Field {
    /// The field as nft writes it; `quoted` puts interface names in quotes
    /// as commands need them (listings show them bare).
    fn write(&self, f: &mut impl fmt::Write, quoted: bool) -> fmt::Result {
        match self {
            Field::Ifname(n) if quoted => write!(f, "\"{n}\""),
            Field::Ifname(n) => f.write_str(n),
            Field::Ether(m) => f.write_str(&crate::ids::format_mac(m)),
            Field::Addr(a) => write!(f, "{a}"),
            Field::Prefix(p) => write!(f, "{}", p.trunc()),
            Field::Proto(p) => f.write_str(p.as_str()),
            Field::Ports(lo, hi) if lo == hi => write!(f, "{lo}"),
            Field::Ports(lo, hi) => write!(f, "{lo}-{hi}"),
            Field::Raw128(a) => write!(f, "{:#034x}", u128::from(*a)),
            Field::NfProto(v6) => f.write_str(if *v6 { "ipv6" } else { "ipv4" }),
            Field::Vni(v) => write!(f, "{v}"),
        }
    }
}

/// A set element or map element of berth's tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Element {
    /// The set or map.
    pub set: Set,
    /// The key, one field per part of the concatenation.
    pub key: Vec<Field>,
    /// A map element's value (empty for a set element).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value: Vec<Field>,
}

impl Element {
    /// A set element.
    pub fn new(set: Set, key: Vec<Field>) -> Element {
        Element {
            set,
            key,
            value: Vec::new(),
        }
    }

    fn write_fields(f: &mut impl fmt::Write, fields: &[Field], quoted: bool) -> fmt::Result {
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                f.write_str(" . ")?;
            }
            field.write(f, quoted)?;
        }
        Ok(())
    }

    /// The key as nft lists it (`0.0.0.0/0 . tcp . 8080`).
    pub fn key_text(&self) -> String {
        let mut s = String::new();
        let _ = Self::write_fields(&mut s, &self.key, false);
        s
    }

    /// The `nft -f` command adding (else deleting, by its key) the element.
    pub fn command(&self, add: bool) -> String {
        let mut s = format!(
            "{} element {} {} {} {{ ",
            if add { "add" } else { "delete" },
            self.set.family().as_str(),
            super::TABLE,
            self.set.name()
        );
        let _ = Self::write_fields(&mut s, &self.key, true);
        if add && !self.value.is_empty() {
            s.push_str(" : ");
            let _ = Self::write_fields(&mut s, &self.value, true);
        }
        s.push_str(" }");
        s
    }
}

/// The element as nft lists it: `KEY` or `KEY : VALUE`, interface names
/// bare (`0.0.0.0/0 . tcp . 8080 : 192.0.2.2 . 80`, `br-stray`).
impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Self::write_fields(f, &self.key, false)?;
        if !self.value.is_empty() {
            f.write_str(" : ")?;
            Self::write_fields(f, &self.value, false)?;
        }
        Ok(())
    }
}

/// Deserializes a list of elements, dropping those of retired sets
/// ([`Set::is_retired`]): a plan recorded by an earlier version is
/// replayed or undone against the current skeleton, which has no such set.
pub fn current_elements<'de, D>(d: D) -> Result<Vec<Element>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let mut v = Vec::<Element>::deserialize(d)?;
    v.retain(|e| !e.set.is_retired());
    Ok(v)
}

/// The `nft -f` text of one transaction removing `remove` and adding `add`
/// (in that order). Removal adds the element first: `add` of an existing
/// element is a no-op and `delete` of a missing one fails the whole
/// transaction, so add-then-delete removes it whether or not it was there
/// (nft 1.0.6 has no `destroy`).
pub fn render(remove: &[Element], add: &[Element]) -> super::Batch {
    let mut b = super::Batch::new();
    for e in remove {
        b.push(e.command(true));
        b.push(e.command(false));
    }
    for e in add {
        b.push(e.command(true));
    }
    b
}
