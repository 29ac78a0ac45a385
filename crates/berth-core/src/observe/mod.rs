//! Looking at the kernel without changing what berth made: the read-only
//! side of the kernel layer, for `berth topology`, `ui`, `doctor`, `trace`
//! and CNI CHECK ([`crate::kernel`] is the side that changes it).
//!
//! This module's own views: every link of a network namespace with its
//! kind, MAC, master, veth peer (`ifindex@peer`, the pairing `ip link`
//! prints as `veth1234567@if5`), addresses and counters, the default
//! routes, and berth's set elements — only netlink dump requests are sent.
//! Its submodules: [`nftrace`] (nftables trace events), [`packet`]
//! (decoding them), [`emit`] and [`inject`] (`berth trace`'s probes, sent
//! from a container or made to arrive from outside), [`route_get`] (the
//! kernel's route lookups), [`scratch`] (nftables in a throwaway
//! namespace, for renders to compare) and [`probe`] (CNI CHECK's).

pub mod emit;
pub mod inject;
pub mod nftrace;
pub mod packet;
pub mod probe;
pub mod route_get;
pub mod scratch;

use crate::error::Result;
use crate::firewall::{Element, Set};
use crate::kernel::msg;
use crate::kernel::Netlink;
use ipnet::IpNet;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader};
use netlink_packet_route::RouteNetlinkMessage;
use serde::Serialize;
use std::net::IpAddr;
use std::path::Path;

/// Interface counters (rtnetlink's 64-bit statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
}

/// One link as the kernel reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Interface index (unique within its namespace).
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `veth`, `bridge`, … (`None` for plain devices such as `lo`).
    pub kind: Option<String>,
    /// MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: Option<String>,
    /// MTU.
    pub mtu: Option<u32>,
    /// Administratively up.
    pub up: bool,
    /// Index of the bridge it is a port of.
    pub master: Option<u32>,
    /// For a veth: the peer's interface index (in `peer_netns` if set).
    pub peer_index: Option<u32>,
    /// The peer's namespace id as seen from this namespace, if elsewhere.
    pub peer_netns: Option<i32>,
    /// Addresses with prefix length.
    pub addrs: Vec<IpNet>,
    /// Counters.
    pub counters: Counters,
}

/// A namespace's links and default routes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NsView {
    /// Links, by index.
    pub links: Vec<Link>,
    /// Default routes: `(gateway, output interface index)`.
    pub default_routes: Vec<(Option<IpAddr>, u32)>,
}

impl NsView {
    /// Reads the namespace of `nl`.
    pub fn read(nl: &mut Netlink) -> Result<NsView> {
        let mut links: Vec<Link> = nl
            .dump(msg::dump_links())?
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_of(&l)),
                _ => None,
            })
            .collect();
        links.sort_by_key(|l| l.index);
        for m in nl.dump(msg::dump_addresses())? {
            if let RouteNetlinkMessage::NewAddress(a) = m {
                let ip = a.attributes.iter().find_map(|at| match at {
                    AddressAttribute::Local(ip) => Some(*ip),
                    _ => None,
                });
                let ip = ip.or_else(|| {
                    a.attributes.iter().find_map(|at| match at {
                        AddressAttribute::Address(ip) => Some(*ip),
                        _ => None,
                    })
                });
                let net = ip.and_then(|ip| IpNet::new(ip, a.header.prefix_len).ok());
                if let (Some(net), Some(l)) =
                    (net, links.iter_mut().find(|l| l.index == a.header.index))
                {
                    l.addrs.push(net);
                }
            }
        }
        let default_routes = default_routes(nl)?;
        Ok(NsView {
            links,
            default_routes,
        })
    }

    /// Reads the namespace pinned at `path` (the calling thread stays
    /// where it is).
    pub fn read_pinned(path: &Path) -> Result<NsView> {
        let file = crate::kernel::netns::open(path)?;
        let mut nl = Netlink::open_in(&file)?;
        NsView::read(&mut nl)
    }

    /// The link with index `index`.
    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// The link named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The interface of the first default route (the uplink of a host).
    pub fn uplink(&self) -> Option<&Link> {
        self.default_routes.first().and_then(|(_, i)| self.link(*i))
    }
}

fn link_of(l: &LinkMessage) -> Link {
    let mut out = Link {
        index: l.header.index,
        up: l.header.flags.contains(LinkFlags::Up),
        ..Default::default()
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => out.name = n.clone(),
            LinkAttribute::Address(mac) if mac.len() == 6 => out.mac = Some(format_mac(mac)),
            LinkAttribute::Mtu(m) => out.mtu = Some(*m),
            LinkAttribute::Controller(m) => out.master = Some(*m),
            LinkAttribute::Link(p) => out.peer_index = Some(*p),
            LinkAttribute::LinkNetNsId(n) => out.peer_netns = Some(*n),
            LinkAttribute::Stats64(s) => {
                out.counters = Counters {
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                }
            }
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        out.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub use crate::ids::format_mac;

fn default_routes(nl: &mut Netlink) -> Result<Vec<(Option<IpAddr>, u32)>> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        for m in nl.dump(msg::dump_routes(v6))? {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                continue;
            };
            if r.header.table != RouteHeader::RT_TABLE_MAIN
                || r.header.destination_prefix_length != 0
            {
                continue;
            }
            let mut gw = None;
            let mut oif = None;
            for a in &r.attributes {
                match a {
                    RouteAttribute::Gateway(RouteAddress::Inet(v4)) => gw = Some(IpAddr::V4(*v4)),
                    RouteAttribute::Gateway(RouteAddress::Inet6(v6)) => gw = Some(IpAddr::V6(*v6)),
                    RouteAttribute::Oif(i) => oif = Some(*i),
                    _ => {}
                }
            }
            if let Some(oif) = oif {
                out.push((gw, oif));
            }
        }
    }
    Ok(out)
}

/// The elements of berth's published-port maps in the kernel, read over
/// netlink (`kernel::nftnl::dump`). A missing table or map has none.
pub fn port_elements(nft: &mut crate::kernel::Nft) -> Vec<Element> {
    let sets = [Set::Ports4, Set::Ports4Keep, Set::Ports6, Set::Ports6Keep];
    elements(nft, &sets)
}

/// The elements of `sets` of berth's tables in the kernel; a set that
/// cannot be read (missing, no netlink socket) has none.
pub fn elements(nft: &mut crate::kernel::Nft, sets: &[Set]) -> Vec<Element> {
    let Ok(sock) = nft.netfilter_socket() else {
        return Vec::new();
    };
    sets.iter()
        .flat_map(|s| crate::kernel::nftnl::dump(sock, *s).unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_lowercase_hex_pairs() {
        assert_eq!(
            format_mac(&[2, 0x42, 0xac, 0x11, 0, 2]),
            "02:42:ac:11:00:02"
        );
    }
}
