//! Forgetting the connection-tracking entries of ports that are no longer
//! published.
//!
//! NAT is decided on a flow's first packet and then kept in its conntrack
//! entry. When a published port is removed (container removed, stopped, or
//! moved to another address), flows already DNATed to the old container keep
//! going there: a UDP client that keeps sending from one source port (a DNS
//! resolver) refreshes its entry forever and never reaches the new container
//! on that port. Docker flushes such entries; so does berth, after every
//! nftables transaction that deletes port map elements ([`unpublished`]
//! reads them from the typed elements removed).
//!
//! ctnetlink is spoken directly (dump, then delete by original tuple): no
//! Rust crate covers it and the messages are small.

use crate::error::{Error, Result};
use crate::firewall::{Element, Field, Set};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use std::net::IpAddr;

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_STATUS: u16 = 3;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_DST_PORT: u16 = 3;
const IPS_DST_NAT: u32 = 1 << 5;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// What one deleted port map element published: flows DNATed through it
/// are stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpublished {
    /// IPv6 map (`ports6*`) rather than IPv4.
    pub v6: bool,
    /// The host address it was bound to; `None` for every address.
    pub host: Option<IpAddr>,
    /// IP protocol number (6 tcp, 17 udp).
    pub proto: u8,
    /// First and last host port.
    pub ports: (u16, u16),
}

/// What the published-port elements among `removed` published (pure).
pub fn unpublished(removed: &[Element]) -> Vec<Unpublished> {
    removed.iter().filter_map(port_of).collect()
}

fn port_of(e: &Element) -> Option<Unpublished> {
    if !e.set.is_ports() {
        return None;
    }
    let [host, Field::Proto(proto), Field::Ports(lo, hi)] = e.key.as_slice() else {
        return None;
    };
    let host = match host {
        Field::Addr(ip) => Some(*ip),
        Field::Prefix(net) if net.prefix_len() == 0 => None,
        _ => return None,
    };
    Some(Unpublished {
        v6: matches!(e.set, Set::Ports6 | Set::Ports6Keep),
        host,
        proto: super::nftnl::proto_number(*proto),
        ports: (*lo, *hi),
    })
}

/// Deletes the DNATed conntrack entries of the UDP ports among `gone`;
/// returns how many.
///
/// Only UDP flows outlive their destination: a UDP client that keeps its
/// source port refreshes its entry for ever, while a TCP flow to a removed
/// container ends on its own (reset by the port's next owner, or timed
/// out) — which is why Docker and kube-proxy forget UDP entries only. The
/// dump walks the kernel's whole conntrack hash table (~10 ms with 256k
/// buckets), so it is skipped when there is no UDP port, or no entry at
/// all in this namespace.
pub fn forget(gone: &[Unpublished]) -> Result<usize> {
    if !worth_a_walk(gone) {
        return Ok(0);
    }
    let mut sock = Socket::new(NETLINK_NETFILTER)
        .map_err(|e| Error::kernel(format!("cannot open a netfilter netlink socket: {e}")))?;
    sock.bind_auto()
        .map_err(|e| Error::kernel(format!("cannot bind a netfilter netlink socket: {e}")))?;
    sock.connect(&SocketAddr::new(0, 0))
        .map_err(|e| Error::kernel(format!("cannot connect a netfilter netlink socket: {e}")))?;
    forget_on(&mut sock, gone)
}

/// True when [`forget`] has anything to look for.
fn worth_a_walk(gone: &[Unpublished]) -> bool {
    gone.iter().any(|g| g.proto == 17) && entries_here() != Some(0)
}

/// [`forget`] through an open netfilter netlink socket (the one that just
/// deleted the elements: closing a second one would make the kernel wait
/// for the grace period of that deletion, see `kernel::nftnl::Conn`).
pub fn forget_on(sock: &mut Socket, gone: &[Unpublished]) -> Result<usize> {
    if !worth_a_walk(gone) {
        return Ok(0);
    }
    let gone: Vec<Unpublished> = gone.iter().filter(|g| g.proto == 17).cloned().collect();
    let mut deleted = 0;
    for v6 in [false, true] {
        let wanted: Vec<&Unpublished> = gone.iter().filter(|g| g.v6 == v6).collect();
        if wanted.is_empty() {
            continue;
        }
        let family = if v6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
        let stale: Vec<Vec<u8>> = dump(sock, family)?
            .iter()
            .filter_map(|attrs| stale_tuple(attrs, &wanted))
            .collect();
        for tuple in stale {
            // A flow that ended meanwhile is gone already: fine.
            if request(sock, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, &tuple).is_ok() {
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

/// The number of conntrack entries of the calling thread's namespace
/// (`None` when conntrack is not loaded).
fn entries_here() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The attributes to delete one entry by (its original tuple and zone) if
/// it was DNATed through one of `wanted`.
fn stale_tuple(attrs: &[u8], wanted: &[&Unpublished]) -> Option<Vec<u8>> {
    let status = attr(attrs, CTA_STATUS).and_then(be32)?;
    if status & IPS_DST_NAT == 0 {
        return None;
    }
    let orig = attr(attrs, CTA_TUPLE_ORIG)?;
    let ip = attr(orig, CTA_TUPLE_IP)?;
    let dst: IpAddr = match attr(ip, CTA_IP_V4_DST) {
        Some(b) => <[u8; 4]>::try_from(b).ok()?.into(),
        None => <[u8; 16]>::try_from(attr(ip, CTA_IP_V6_DST)?).ok()?.into(),
    };
    let l4 = attr(orig, CTA_TUPLE_PROTO)?;
    let proto = *attr(l4, CTA_PROTO_NUM)?.first()?;
    let port = u16::from_be_bytes(attr(l4, CTA_PROTO_DST_PORT)?.try_into().ok()?);
    let hit = wanted.iter().any(|w| {
        w.proto == proto
            && (w.ports.0..=w.ports.1).contains(&port)
            && w.host.is_none_or(|h| h == dst)
    });
    if !hit {
        return None;
    }
    let mut out = Vec::new();
    push_attr(&mut out, CTA_TUPLE_ORIG | 0x8000, orig);
    if let Some(zone) = attr(attrs, CTA_ZONE) {
        push_attr(&mut out, CTA_ZONE, zone);
    }
    Some(out)
}

/// The payload of attribute `kind` in a run of netlink attributes.
fn attr(mut buf: &[u8], kind: u16) -> Option<&[u8]> {
    while buf.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let t = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            return None;
        }
        if t == kind {
            return Some(&buf[4..len]);
        }
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    None
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

fn push_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize((out.len() + 3) & !3, 0);
}

/// A ctnetlink message: netlink header, nfgenmsg, attributes.
fn message(kind: u16, flags: u16, family: u8, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&((NFNL_SUBSYS_CTNETLINK << 8) | kind).to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    m.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
    m.extend_from_slice(&[family, 0, 0, 0]); // nfgenmsg: family, version 0, res_id 0
    m.extend_from_slice(attrs);
    m
}

/// Sends one request and reads replies until its end; returns the
/// attributes of every data message (for a dump).
fn request(
    sock: &mut Socket,
    kind: u16,
    flags: u16,
    family: u8,
    attrs: &[u8],
) -> Result<Vec<Vec<u8>>> {
    sock.send(&message(kind, flags, family, attrs), 0)
        .map_err(|e| Error::kernel(format!("conntrack netlink send: {e}")))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = sock
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| Error::kernel(format!("conntrack netlink receive: {e}")))?;
        let mut off = 0;
        while off + 16 <= n {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap_or_default()) as usize;
            let t = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
            if len < 16 || off + len > n {
                break;
            }
            let body = &buf[off + 16..off + len];
            match t {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let errno = i32::from_ne_bytes(
                        body.get(..4)
                            .and_then(|b| b.try_into().ok())
                            .unwrap_or_default(),
                    );
                    if errno == 0 {
                        return Ok(out);
                    }
                    return Err(Error::kernel(format!(
                        "conntrack: {}",
                        std::io::Error::from_raw_os_error(-errno)
                    )));
                }
                _ => out.push(body.get(4..).unwrap_or_default().to_vec()),
            }
            off += (len + 3) & !3;
        }
    }
}

fn dump(sock: &mut Socket, family: u8) -> Result<Vec<Vec<u8>>> {
    request(sock, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_deleted_port_elements() {
        use crate::firewall::{PortRule, PortTarget, RoutingGuard};
        use crate::model::Proto;
        let rule = |host: Option<&str>, proto, ports, addr: &str| PortRule {
            host_ip: host.map(|h| h.parse().unwrap()),
            proto,
            host_ports: ports,
            target: PortTarget {
                addr: addr.parse().unwrap(),
                port: ports.0,
            },
        };
        let removed = vec![
            rule(None, Proto::Udp, (5353, 5353), "172.17.0.2").element(),
            rule(None, Proto::Tcp, (8000, 8002), "fd00::2").element(),
            rule(Some("127.0.0.1"), Proto::Tcp, (8085, 8085), "172.17.0.3").element(),
            RoutingGuard { ipv6: false }.elements().remove(0),
        ];
        let got = unpublished(&removed);
        assert_eq!(
            got,
            vec![
                Unpublished {
                    v6: false,
                    host: None,
                    proto: 17,
                    ports: (5353, 5353)
                },
                Unpublished {
                    v6: true,
                    host: None,
                    proto: 6,
                    ports: (8000, 8002)
                },
                Unpublished {
                    v6: false,
                    host: Some("127.0.0.1".parse().unwrap()),
                    proto: 6,
                    ports: (8085, 8085)
                },
            ]
        );
    }

    fn entry(status: u32, dst: [u8; 4], proto: u8, port: u16) -> Vec<u8> {
        let mut ip = Vec::new();
        push_attr(&mut ip, CTA_IP_V4_DST, &dst);
        let mut l4 = Vec::new();
        push_attr(&mut l4, CTA_PROTO_NUM, &[proto]);
        push_attr(&mut l4, CTA_PROTO_DST_PORT, &port.to_be_bytes());
        let mut tuple = Vec::new();
        push_attr(&mut tuple, CTA_TUPLE_IP | 0x8000, &ip);
        push_attr(&mut tuple, CTA_TUPLE_PROTO | 0x8000, &l4);
        let mut attrs = Vec::new();
        push_attr(&mut attrs, CTA_TUPLE_ORIG | 0x8000, &tuple);
        push_attr(&mut attrs, CTA_STATUS, &status.to_be_bytes());
        attrs
    }

    #[test]
    fn only_dnated_flows_through_the_port_are_stale() {
        let udp = Unpublished {
            v6: false,
            host: None,
            proto: 17,
            ports: (5353, 5353),
        };
        let local = Unpublished {
            v6: false,
            host: Some("127.0.0.1".parse().unwrap()),
            proto: 6,
            ports: (8000, 8002),
        };
        let wanted = [&udp, &local];
        assert!(stale_tuple(&entry(IPS_DST_NAT, [198, 51, 100, 2], 17, 5353), &wanted).is_some());
        assert!(stale_tuple(&entry(0, [198, 51, 100, 2], 17, 5353), &wanted).is_none());
        assert!(stale_tuple(&entry(IPS_DST_NAT, [198, 51, 100, 2], 6, 5353), &wanted).is_none());
        assert!(stale_tuple(&entry(IPS_DST_NAT, [127, 0, 0, 1], 6, 8001), &wanted).is_some());
        assert!(stale_tuple(&entry(IPS_DST_NAT, [198, 51, 100, 2], 6, 8001), &wanted).is_none());
    }
}
