//! A read-only snapshot of the host that planning needs (`HostFacts`):
//! routed prefixes, link names and listening sockets.

use super::msg;
use super::netlink::Netlink;
use crate::error::Result;
use crate::model::Proto;
use ipnet::IpNet;
use netlink_packet_core::NlasIterator;
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::route::RouteHeader;
use netlink_packet_route::RouteNetlinkMessage;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What planning may look at about the host.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Destinations of the main table's routes, except default routes.
    pub routes: Vec<IpNet>,
    /// The links that exist among those planning asked about (never a
    /// list of every link: a host with 1,000 bridges would make each
    /// `network create` parse them all).
    pub links: Vec<String>,
}

impl HostFacts {
    /// Reads the main table's routes (IPv6 ones only with `v6`: an IPv4
    /// subnet cannot clash with them), unless `early` read them already,
    /// and which of the links named in `links` exist (one lookup by name
    /// each), through `nl`.
    pub fn read(
        nl: &mut Netlink,
        links: &[&str],
        v6: bool,
        early: Option<RoutesEarly>,
    ) -> Result<HostFacts> {
        let routes = match early.and_then(|e| e.take(v6)) {
            Some(routes) => routes,
            None => main_routes(nl, v6)?,
        };
        let mut present = Vec::new();
        for name in links {
            // A name no link can have (planning refuses it, naming it) is
            // not asked: the kernel would answer ERANGE or EINVAL.
            if crate::ids::validate_ifname(name).is_err() {
                continue;
            }
            if nl.link_index(name)?.is_some() {
                present.push(name.to_string());
            }
        }
        Ok(HostFacts {
            routes,
            links: present,
        })
    }
}

/// The destinations of the main table's routes that can clash with a
/// subnet (IPv6 ones only with `v6`), through `nl`.
fn main_routes(nl: &mut Netlink, v6: bool) -> Result<Vec<IpNet>> {
    let mut routes = Vec::new();
    for family in [false, true].into_iter().filter(|f| !f || v6) {
        nl.dump_filtered_raw(msg::dump_main_routes(family), |kind, payload| {
            if kind == RTM_NEWROUTE {
                routes.extend(route_destination(payload));
            }
        })?;
    }
    Ok(routes)
}

/// The main table's routes, read on a thread of their own while the
/// command does its other work (opening the store): the kernel builds a
/// message per route, a route per bridge, so beside 1,000 networks the
/// dump takes ~1.3 ms that `network create` would otherwise wait for
/// before planning (issue 13, goal 3). The thread opens its own netlink
/// socket, in the network namespace of the thread that starts it.
pub struct RoutesEarly {
    v6: bool,
    thread: std::thread::JoinHandle<Result<Vec<IpNet>>>,
}

impl RoutesEarly {
    /// Starts reading the IPv4 routes (and the IPv6 ones with `v6`);
    /// `None` when no thread could be started (they are read when needed).
    pub fn start(v6: bool) -> Option<RoutesEarly> {
        let thread = std::thread::Builder::new()
            .name("routes".into())
            .spawn(move || main_routes(&mut Netlink::open()?, v6))
            .ok()?;
        Some(RoutesEarly { v6, thread })
    }

    /// The routes, if they cover the families `v6` asks for and were read;
    /// else `None` (the caller reads them itself).
    fn take(self, v6: bool) -> Option<Vec<IpNet>> {
        let routes = self.thread.join().ok()?.ok()?;
        (self.v6 || !v6).then_some(routes)
    }
}

/// The kernel's message type of a route (linux/rtnetlink.h).
const RTM_NEWROUTE: u16 = 24;
/// A route's destination attribute (RTA_DST, linux/rtnetlink.h).
const RTA_DST: u16 = 1;

/// The destination of a main-table route that can clash with a subnet,
/// read from the route message's bytes `payload` (its header and its
/// RTA_DST attribute only, not every attribute: see
/// [`Netlink::dump_filtered_raw`]): not a default route, not fe80::/64
/// (on every IPv6 link, it never clashes). The kernel filters the table
/// when it can (strict dump checking); this check stays for kernels that
/// cannot.
fn route_destination(payload: &[u8]) -> Option<IpNet> {
    let header = RouteHeader::parse(payload).ok()?;
    if header.table != RouteHeader::RT_TABLE_MAIN || header.destination_prefix_length == 0 {
        return None;
    }
    let dst = NlasIterator::new(payload.get(ROUTE_HEADER_LEN..)?)
        .filter_map(|nla| nla.ok())
        .find(|nla| nla.kind() == RTA_DST)?;
    let ip = match *dst.value() {
        [a, b, c, d] => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        ref v => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).ok()?)),
    };
    if matches!(ip, IpAddr::V6(v) if v.segments()[0] == 0xfe80) {
        return None;
    }
    IpNet::new(ip, header.destination_prefix_length)
        .ok()
        .map(|n| n.trunc())
}

/// The length of a route message's header (struct rtmsg), before its
/// attributes.
const ROUTE_HEADER_LEN: usize = 12;

/// Names of every link in `nl`'s namespace.
pub fn link_names(nl: &mut Netlink) -> Result<Vec<String>> {
    let mut links = Vec::new();
    for m in nl.dump(msg::dump_links())? {
        if let RouteNetlinkMessage::NewLink(l) = m {
            for a in l.attributes {
                if let LinkAttribute::IfName(n) = a {
                    links.push(n);
                }
            }
        }
    }
    Ok(links)
}

/// Names of the ports of bridge `bridge` in `nl`'s namespace (links whose
/// master it is); empty when it does not exist.
pub fn bridge_ports(nl: &mut Netlink, bridge: &str) -> Result<Vec<String>> {
    let mut links: Vec<(u32, String, Option<u32>)> = Vec::new();
    for m in nl.dump(msg::dump_links())? {
        if let RouteNetlinkMessage::NewLink(l) = m {
            let mut name = String::new();
            let mut master = None;
            for a in l.attributes {
                match a {
                    LinkAttribute::IfName(n) => name = n,
                    LinkAttribute::Controller(i) => master = Some(i),
                    _ => {}
                }
            }
            links.push((l.header.index, name, master));
        }
    }
    let Some(index) = links.iter().find(|l| l.1 == bridge).map(|l| l.0) else {
        return Ok(Vec::new());
    };
    Ok(links
        .into_iter()
        .filter(|l| l.2 == Some(index))
        .map(|l| l.1)
        .collect())
}

/// A socket bound on the host: its protocol, address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// tcp (listening) or udp (bound).
    pub proto: Proto,
    /// Local address (unspecified = all).
    pub addr: IpAddr,
    /// Local port.
    pub port: u16,
}

/// Sockets listening (TCP) or bound (UDP) in the calling process's network
/// namespace, from /proc/net/{tcp,tcp6,udp,udp6}.
pub fn listeners() -> Vec<Listener> {
    let mut v = Vec::new();
    for (file, proto, state) in [
        ("/proc/net/tcp", Proto::Tcp, "0A"),
        ("/proc/net/tcp6", Proto::Tcp, "0A"),
        ("/proc/net/udp", Proto::Udp, "07"),
        ("/proc/net/udp6", Proto::Udp, "07"),
    ] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        v.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| parse_proc_net_line(l, proto, state)),
        );
    }
    v
}

/// The sockets among `wanted` (protocol, host address or `None` for every
/// address, port) that the host already uses, found by trying to bind each
/// one, as Docker's proxy would: TCP with `SO_REUSEADDR` (so only
/// listening and explicitly bound sockets conflict, not TIME_WAIT), UDP
/// without. O(1) per port, where [`listeners`] walks the kernel's whole
/// socket hash tables (~15 ms on a large machine): for CNI ADD.
pub fn bound_ports(wanted: &[(Proto, Option<IpAddr>, u16)]) -> Vec<Listener> {
    let mut out = Vec::new();
    for &(proto, ip, port) in wanted {
        let addrs = match ip {
            Some(ip) => vec![ip],
            None => vec![IpAddr::from([0u8; 4]), IpAddr::from([0u16; 8])],
        };
        for addr in addrs {
            let sa = std::net::SocketAddr::new(addr, port);
            let res = match proto {
                Proto::Tcp => std::net::TcpListener::bind(sa).map(drop),
                Proto::Udp => std::net::UdpSocket::bind(sa).map(drop),
            };
            if res.is_err_and(|e| e.kind() == std::io::ErrorKind::AddrInUse) {
                out.push(Listener { proto, addr, port });
                break;
            }
        }
    }
    out
}

/// Parses one line of /proc/net/{tcp,udp}[6].
fn parse_proc_net_line(line: &str, proto: Proto, state: &str) -> Option<Listener> {
    let mut f = line.split_whitespace();
    let local = f.nth(1)?;
    let st = f.nth(1)?;
    if st != state {
        return None;
    }
    let (addr_hex, port_hex) = local.split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    let addr = match addr_hex.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr_hex, 16).ok()?.to_be(),
        )),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_mut(4).enumerate() {
                let w = u32::from_str_radix(&addr_hex[i * 8..i * 8 + 8], 16).ok()?;
                chunk.copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(Listener { proto, addr, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a route message as the kernel sends them.
    fn route_bytes(table: u8, dst: Option<(IpAddr, u8)>) -> Vec<u8> {
        use netlink_packet_core::Emitable;
        use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
        use netlink_packet_route::AddressFamily;
        let mut m = RouteMessage::default();
        m.header.table = table;
        m.attributes.push(RouteAttribute::Table(table.into()));
        m.attributes.push(RouteAttribute::Oif(7));
        if let Some((ip, len)) = dst {
            m.header.destination_prefix_length = len;
            m.header.address_family = if ip.is_ipv4() {
                AddressFamily::Inet
            } else {
                AddressFamily::Inet6
            };
            m.attributes.push(RouteAttribute::Destination(match ip {
                IpAddr::V4(v4) => RouteAddress::Inet(v4),
                IpAddr::V6(v6) => RouteAddress::Inet6(v6),
            }));
        }
        m.attributes.push(RouteAttribute::Priority(100));
        let mut buf = vec![0; m.buffer_len()];
        m.emit(&mut buf);
        buf
    }

    #[test]
    fn reads_a_routes_destination_from_its_bytes() {
        let main = RouteHeader::RT_TABLE_MAIN;
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        let got = route_destination(&route_bytes(main, Some((v4("10.1.2.3"), 24))));
        assert_eq!(got, Some("10.1.2.0/24".parse().unwrap()));
        let got = route_destination(&route_bytes(main, Some((v4("2001:db8:1::"), 48))));
        assert_eq!(got, Some("2001:db8:1::/48".parse().unwrap()));
        // Default routes, link-local IPv6 and other tables never clash.
        assert_eq!(route_destination(&route_bytes(main, None)), None);
        assert_eq!(
            route_destination(&route_bytes(main, Some((v4("fe80::"), 64)))),
            None
        );
        assert_eq!(
            route_destination(&route_bytes(100, Some((v4("10.1.2.0"), 24)))),
            None
        );
        // Cut short: nothing, not a panic.
        let whole = route_bytes(main, Some((v4("10.1.2.3"), 24)));
        for cut in 0..whole.len() {
            let _ = route_destination(&whole[..cut]);
        }
    }

    #[test]
    fn parses_proc_net_lines() {
        let l = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0";
        let got = parse_proc_net_line(l, Proto::Tcp, "0A").unwrap();
        assert_eq!(
            got,
            Listener {
                proto: Proto::Tcp,
                addr: "127.0.0.1".parse().unwrap(),
                port: 8080
            }
        );
        let l6 = "   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0";
        let got = parse_proc_net_line(l6, Proto::Tcp, "0A").unwrap();
        assert_eq!(got.addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(got.port, 80);
        assert!(parse_proc_net_line(l, Proto::Tcp, "01").is_none());
    }
}
