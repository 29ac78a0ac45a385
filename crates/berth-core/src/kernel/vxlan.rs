//! Reading what the overlay driver needs from the kernel: this host's
//! tunnel endpoint on the underlay (the address it uses to reach the
//! cluster store, its link and that link's MTU) and the remote entries a
//! VXLAN device holds (forwarding + neighbour entries).

use super::msg;
use super::netlink::Netlink;
use crate::error::{Error, Result};
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// A container on another host, as the VXLAN device must know it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Remote {
    /// Its address.
    pub ip: IpAddr,
    /// Its MAC address.
    pub mac: String,
    /// Its host's tunnel endpoint.
    pub vtep: IpAddr,
}

/// This host's side of the underlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underlay {
    /// The tunnel endpoint address.
    pub addr: IpAddr,
    /// The link carrying it.
    pub link: String,
    /// That link's MTU.
    pub mtu: u32,
}

/// The source address this host uses towards `peer` (a route lookup
/// through a connected UDP socket: nothing is sent).
pub fn source_towards(peer: SocketAddr) -> Result<IpAddr> {
    let bind: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse()
    } else {
        "[::]:0".parse()
    }
    .map_err(|_| Error::internal("bind address"))?;
    let sock = UdpSocket::bind(bind)?;
    sock.connect(peer).map_err(|e| {
        Error::kernel(format!(
            "no route from this host to the cluster store at {peer}: {e}"
        ))
    })?;
    Ok(sock.local_addr()?.ip())
}

/// The link that carries `addr` and its MTU.
pub fn underlay_of(nl: &mut Netlink, addr: IpAddr) -> Result<Underlay> {
    let mut index = None;
    for m in nl.dump(msg::dump_addresses())? {
        if let RouteNetlinkMessage::NewAddress(a) = m {
            if a.attributes.contains(&AddressAttribute::Local(addr))
                || a.attributes.contains(&AddressAttribute::Address(addr))
            {
                index = Some(a.header.index);
            }
        }
    }
    let index = index.ok_or_else(|| {
        Error::kernel(format!(
            "no link of this host carries the tunnel endpoint address {addr}"
        ))
    })?;
    for m in nl.dump(msg::dump_links())? {
        if let RouteNetlinkMessage::NewLink(l) = m {
            if l.header.index != index {
                continue;
            }
            let name = l.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            let mtu = l.attributes.iter().find_map(|a| match a {
                LinkAttribute::Mtu(m) => Some(*m),
                _ => None,
            });
            if let (Some(link), Some(mtu)) = (name, mtu) {
                return Ok(Underlay { addr, link, mtu });
            }
        }
    }
    Err(Error::kernel(format!("link {index} of {addr} vanished")))
}

/// The address of a neighbour attribute. In the bridge family (the VXLAN
/// device's forwarding entries) the parser cannot tell the address family
/// and hands the raw bytes: 4 or 16 of them.
fn ip_of(a: &NeighbourAddress) -> Option<IpAddr> {
    match a {
        NeighbourAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        NeighbourAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        NeighbourAddress::Other(b) => match b.len() {
            4 => <[u8; 4]>::try_from(b.as_slice()).ok().map(IpAddr::from),
            16 => <[u8; 16]>::try_from(b.as_slice()).ok().map(IpAddr::from),
            _ => None,
        },
        _ => None,
    }
}

/// The remote entries VXLAN device index `dev` holds: its neighbour
/// entries (address -> MAC) joined with its forwarding entries that have a
/// tunnel endpoint (MAC -> VTEP). A neighbour without a forwarding entry
/// comes out with an unspecified VTEP, so that it is replaced.
pub fn remotes(nl: &mut Netlink, dev: u32) -> Result<BTreeSet<Remote>> {
    let mut vtep_of: BTreeMap<String, IpAddr> = BTreeMap::new();
    let mut on_port: BTreeSet<String> = BTreeSet::new();
    let mut ip_mac: Vec<(IpAddr, String)> = Vec::new();
    for family in [
        AddressFamily::Bridge,
        AddressFamily::Inet,
        AddressFamily::Inet6,
    ] {
        let mut req = NeighbourMessage::default();
        req.header.family = family;
        for m in nl.dump(RouteNetlinkMessage::GetNeighbour(req))? {
            let RouteNetlinkMessage::NewNeighbour(n) = m else {
                continue;
            };
            if n.header.ifindex != dev {
                continue;
            }
            let mut mac = None;
            let mut dst = None;
            // The bridge's own entries carry their bridge (NDA_MASTER).
            let mut master = n.header.flags.contains(NeighbourFlags::Controller);
            for a in &n.attributes {
                match a {
                    NeighbourAttribute::LinkLayerAddress(b) => {
                        mac = Some(crate::ids::format_mac(b))
                    }
                    NeighbourAttribute::Destination(d) => dst = ip_of(d),
                    NeighbourAttribute::Controller(_) => master = true,
                    _ => {}
                }
            }
            let bridge = family == AddressFamily::Bridge;
            match (bridge, mac, dst) {
                (true, Some(mac), _) if master => {
                    on_port.insert(mac);
                }
                (true, Some(mac), Some(vtep)) => {
                    vtep_of.insert(mac, vtep);
                }
                // berth's entries are permanent; the kernel's own (IPv6
                // multicast, NOARP) are not remotes.
                (false, Some(mac), Some(ip))
                    if n.header.state == NeighbourState::Permanent && !ip.is_multicast() =>
                {
                    ip_mac.push((ip, mac))
                }
                _ => {}
            }
        }
    }
    // An entry is whole with its forwarding entry, its bridge entry and its
    // neighbour entry; a part missing shows as no tunnel endpoint, so the
    // difference with the store replaces it.
    let unspecified = IpAddr::from([0, 0, 0, 0]);
    Ok(ip_mac
        .into_iter()
        .map(|(ip, mac)| Remote {
            ip,
            vtep: vtep_of
                .get(&mac)
                .copied()
                .filter(|_| on_port.contains(&mac))
                .unwrap_or(unspecified),
            mac,
        })
        .collect())
}
