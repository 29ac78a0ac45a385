//! The kernel's own route lookup for one packet (`ip route get`): RTM_GETROUTE
//! with the packet's addresses, protocol, ports and input interface, asked
//! in the namespace the packet is in. With an input interface the kernel
//! runs its input path (local delivery, forwarding, martians, rp_filter);
//! without one, its output path. Read-only.

use crate::error::Result;
use crate::kernel::Netlink;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;

/// The packet to look a route up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteQuery {
    /// Destination address.
    pub dst: IpAddr,
    /// Source address (`None`: the kernel picks one, output path only).
    pub src: Option<IpAddr>,
    /// Input interface index: the packet arrives there (input path).
    pub iif: Option<u32>,
    /// IP protocol number (0: any).
    pub proto: u8,
    /// Destination port (0: any).
    pub dport: u16,
}

/// What the kernel answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAnswer {
    /// A route: its type and where it leads.
    Route(Route),
    /// The lookup failed with this errno (ENETUNREACH, EHOSTUNREACH,
    /// EINVAL for a martian, EXDEV for rp_filter...).
    Error(i32),
}

/// A route the kernel chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `unicast`, `local`, `broadcast`, `unreachable`, `blackhole`, `prohibit`...
    pub kind: &'static str,
    /// Output interface index (`lo` for local delivery).
    pub oif: Option<u32>,
    /// Next hop, when not directly connected.
    pub gateway: Option<IpAddr>,
    /// The source address the kernel would use.
    pub prefsrc: Option<IpAddr>,
    /// Routing table id.
    pub table: u32,
}

fn kind_word(k: RouteType) -> &'static str {
    match k {
        RouteType::Unicast => "unicast",
        RouteType::Local => "local",
        RouteType::Broadcast => "broadcast",
        RouteType::Anycast => "anycast",
        RouteType::Multicast => "multicast",
        RouteType::BlackHole => "blackhole",
        RouteType::Unreachable => "unreachable",
        RouteType::Prohibit => "prohibit",
        RouteType::Throw => "throw",
        RouteType::Nat => "nat",
        _ => "other",
    }
}

/// The RTM_GETROUTE request for `q` (pure).
pub fn request(q: &RouteQuery) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    let v6 = q.dst.is_ipv6();
    m.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let full = if v6 { 128 } else { 32 };
    m.header.destination_prefix_length = full;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(q.dst)));
    if let Some(src) = q.src {
        m.header.source_prefix_length = full;
        m.attributes
            .push(RouteAttribute::Source(RouteAddress::from(src)));
    }
    if let Some(iif) = q.iif {
        m.attributes.push(RouteAttribute::Iif(iif));
    }
    if q.proto != 0 {
        m.attributes.push(RouteAttribute::IpProto(q.proto));
        if q.dport != 0 {
            m.attributes.push(RouteAttribute::Dport(q.dport));
        }
    }
    RouteNetlinkMessage::GetRoute(m)
}

fn addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Decodes the kernel's answer (pure).
pub fn answer(reply: &RouteMessage) -> Route {
    let mut r = Route {
        kind: kind_word(reply.header.kind),
        oif: None,
        gateway: None,
        prefsrc: None,
        table: u32::from(reply.header.table),
    };
    for a in &reply.attributes {
        match a {
            RouteAttribute::Oif(i) => r.oif = Some(*i),
            RouteAttribute::Gateway(g) => r.gateway = addr(g),
            RouteAttribute::PrefSource(s) => r.prefsrc = addr(s),
            RouteAttribute::Table(t) => r.table = *t,
            _ => {}
        }
    }
    r
}

/// Asks the kernel of `nl`'s namespace for the route of `q`.
pub fn lookup(nl: &mut Netlink, q: &RouteQuery) -> Result<RouteAnswer> {
    match nl.get_errno(request(q))? {
        Ok(RouteNetlinkMessage::NewRoute(m)) => Ok(RouteAnswer::Route(answer(&m))),
        Ok(_) => Ok(RouteAnswer::Error(libc::EINVAL)),
        Err(errno) => Ok(RouteAnswer::Error(errno)),
    }
}

/// One route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRoute {
    /// Destination (`None`: a default route).
    pub dst: Option<ipnet::IpNet>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Next hop.
    pub gateway: Option<IpAddr>,
    /// An IPv6 route.
    pub v6: bool,
}

/// Every unicast route of the main table (IPv4 and IPv6), without the
/// link-local `fe80::/64` ones.
pub fn main_routes(nl: &mut Netlink) -> Result<Vec<TableRoute>> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        for m in nl.dump(crate::kernel::msg::dump_routes(v6))? {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                continue;
            };
            if r.header.table != netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN
                || r.header.kind != RouteType::Unicast
            {
                continue;
            }
            let a = answer(&r);
            let dst = r.attributes.iter().find_map(|at| match at {
                RouteAttribute::Destination(d) => addr(d),
                _ => None,
            });
            let len = r.header.destination_prefix_length;
            let dst = match dst {
                _ if len == 0 => None,
                Some(ip) => ipnet::IpNet::new(ip, len).ok().map(|n| n.trunc()),
                None => continue,
            };
            if dst.is_some_and(|d| matches!(d.addr(), IpAddr::V6(v) if v.segments()[0] == 0xfe80)) {
                continue;
            }
            out.push(TableRoute {
                dst,
                oif: a.oif,
                gateway: a.gateway,
                v6,
            });
        }
    }
    Ok(out)
}

/// What an errno of a route lookup means, in words.
pub fn errno_words(errno: i32) -> &'static str {
    match errno {
        libc::ENETUNREACH => "no route (network unreachable)",
        libc::EHOSTUNREACH => "no route (host unreachable)",
        libc::EINVAL => "refused by the kernel's routing (a martian: loopback or invalid address arriving from a network)",
        libc::EXDEV => "dropped by reverse-path filtering (rp_filter): the source is not routed back through this interface",
        libc::EACCES | libc::EPERM => "administratively prohibited",
        _ => "no route",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_the_packet() {
        let q = RouteQuery {
            dst: "172.18.0.2".parse().unwrap(),
            src: Some("198.51.100.1".parse().unwrap()),
            iif: Some(3),
            proto: 6,
            dport: 80,
        };
        let RouteNetlinkMessage::GetRoute(m) = request(&q) else {
            panic!("not a GetRoute");
        };
        assert_eq!(m.header.destination_prefix_length, 32);
        assert_eq!(m.header.source_prefix_length, 32);
        assert!(m.attributes.contains(&RouteAttribute::Iif(3)));
        assert!(m.attributes.contains(&RouteAttribute::Dport(80)));
        let mut reply = RouteMessage::default();
        reply.header.kind = RouteType::Local;
        reply.attributes.push(RouteAttribute::Oif(1));
        let r = answer(&reply);
        assert_eq!((r.kind, r.oif), ("local", Some(1)));
        assert!(errno_words(libc::EXDEV).contains("rp_filter"));
    }
}
