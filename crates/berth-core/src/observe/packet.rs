//! IP packets as bytes (pure): decoding the headers a trace event carries,
//! and building the probe packets `berth trace` injects, with checksums.

use std::net::IpAddr;

/// IP protocol numbers berth's probes use.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// The fields of a packet that matter for following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    /// TCP/UDP source port, or the ICMP echo id.
    pub sport: u16,
    /// TCP/UDP destination port (0 for ICMP).
    pub dport: u16,
    /// ICMP type (0 for TCP/UDP).
    pub icmp_type: u8,
    /// TCP flags (0 for UDP/ICMP).
    pub tcp_flags: u8,
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Decodes an IPv4 or IPv6 header (`l3`) and the start of its transport
/// header (`l4`, may be empty).
pub fn decode_l3(l3: &[u8], l4: &[u8]) -> Option<PacketInfo> {
    let version = l3.first()? >> 4;
    let (src, dst, proto): (IpAddr, IpAddr, u8) = match version {
        4 => {
            let s: [u8; 4] = l3.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = l3.get(16..20)?.try_into().ok()?;
            (s.into(), d.into(), *l3.get(9)?)
        }
        6 => {
            let s: [u8; 16] = l3.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = l3.get(24..40)?.try_into().ok()?;
            (s.into(), d.into(), *l3.get(6)?)
        }
        _ => return None,
    };
    let mut p = PacketInfo {
        src,
        dst,
        proto,
        sport: 0,
        dport: 0,
        icmp_type: 0,
        tcp_flags: 0,
    };
    let port = |i: usize| l4.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match proto {
        proto::TCP | proto::UDP => {
            p.sport = port(0).unwrap_or_default();
            p.dport = port(2).unwrap_or_default();
            if proto == proto::TCP {
                p.tcp_flags = l4.get(13).copied().unwrap_or_default();
            }
        }
        proto::ICMP | proto::ICMPV6 => {
            p.icmp_type = l4.first().copied().unwrap_or_default();
            p.sport = port(4).unwrap_or_default();
        }
        _ => {}
    }
    Some(p)
}

/// What a probe packet carries after its IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A TCP SYN from `sport` to `dport`.
    TcpSyn {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// A small UDP datagram.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// An ICMP (or ICMPv6) echo request with this id.
    Echo {
        /// The echo id.
        id: u16,
    },
}

/// The one's complement sum used by IP, TCP, UDP and ICMP checksums.
fn sum(data: &[u8], mut acc: u32) -> u32 {
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], chunk.get(1).copied().unwrap_or(0)]);
        acc += u32::from(word);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum(data, 0))
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let mut acc = 0;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
        }
        (s, d) => {
            acc = sum(&ip_bytes(s), acc);
            acc = sum(&ip_bytes(d), acc);
        }
    }
    acc + u32::from(proto) + len as u32
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// The transport part of a probe (TCP, UDP or ICMP header and a few
/// bytes), checksummed for `src` → `dst`; returns the IP protocol too.
pub fn transport(src: IpAddr, dst: IpAddr, payload: Payload) -> (u8, Vec<u8>) {
    let v6 = dst.is_ipv6();
    let (proto, mut l4, csum_at, pseudo) = match payload {
        Payload::TcpSyn { sport, dport } => {
            let mut t = Vec::with_capacity(20);
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&0x6272_7468u32.to_be_bytes()); // sequence "brth"
            t.extend_from_slice(&0u32.to_be_bytes());
            t.extend_from_slice(&[0x50, tcp_flags::SYN, 0xfa, 0xf0, 0, 0, 0, 0]);
            (proto::TCP, t, 16, true)
        }
        Payload::Udp { sport, dport } => {
            let mut t = Vec::with_capacity(13);
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&13u16.to_be_bytes());
            t.extend_from_slice(&[0, 0]);
            t.extend_from_slice(b"berth");
            (proto::UDP, t, 6, true)
        }
        Payload::Echo { id } => {
            let (p, ty) = if v6 {
                (proto::ICMPV6, 128)
            } else {
                (proto::ICMP, 8)
            };
            let mut t = vec![ty, 0, 0, 0];
            t.extend_from_slice(&id.to_be_bytes());
            t.extend_from_slice(&1u16.to_be_bytes());
            t.extend_from_slice(b"berth trace");
            (p, t, 2, v6)
        }
    };
    let acc = if pseudo {
        pseudo_sum(src, dst, proto, l4.len())
    } else {
        0
    };
    let mut c = fold(sum(&l4, acc));
    if c == 0 && proto == proto::UDP {
        c = 0xffff;
    }
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    (proto, l4)
}

/// A whole IP packet (no link-layer header) from `src` to `dst`.
pub fn build(src: IpAddr, dst: IpAddr, payload: Payload) -> Vec<u8> {
    let (proto, l4) = transport(src, dst, payload);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + l4.len()) as u16;
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&[0x62, 0x74, 0x40, 0]); // id "bt", don't fragment
            h.extend_from_slice(&[64, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let c = checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h.extend_from_slice(&l4);
            h
        }
        _ => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&ip_bytes(src));
            h.extend_from_slice(&ip_bytes(dst));
            h.extend_from_slice(&l4);
            h
        }
    }
}

/// An Ethernet frame carrying `packet` to `dst_mac`.
pub fn ethernet(dst_mac: [u8; 6], src_mac: [u8; 6], packet: &[u8]) -> Vec<u8> {
    let v6 = packet.first().is_some_and(|b| b >> 4 == 6);
    let mut f = Vec::with_capacity(14 + packet.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
    f.extend_from_slice(packet);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_syn_decodes_and_checksums_verify() {
        let p = build(
            ip("198.51.100.1"),
            ip("198.51.100.2"),
            Payload::TcpSyn {
                sport: 40001,
                dport: 8080,
            },
        );
        assert_eq!(checksum(&p[..20]), 0, "IP header checksum");
        let l4 = &p[20..];
        let acc = pseudo_sum(ip("198.51.100.1"), ip("198.51.100.2"), 6, l4.len());
        assert_eq!(fold(sum(l4, acc)), 0, "TCP checksum");
        let info = decode_l3(&p[..20], l4).unwrap();
        assert_eq!(info.src, ip("198.51.100.1"));
        assert_eq!((info.sport, info.dport, info.proto), (40001, 8080, 6));
        assert_eq!(info.tcp_flags, tcp_flags::SYN);
    }

    #[test]
    fn echo_and_udp_v6() {
        let (s, d) = (ip("2001:db8:1::1"), ip("2001:db8:1::2"));
        let p = build(s, d, Payload::Echo { id: 777 });
        assert_eq!(p[6], proto::ICMPV6);
        let l4 = &p[40..];
        assert_eq!(fold(sum(l4, pseudo_sum(s, d, 58, l4.len()))), 0);
        let info = decode_l3(&p[..40], l4).unwrap();
        assert_eq!((info.icmp_type, info.sport), (128, 777));
        let u = build(
            ip("192.0.2.1"),
            ip("192.0.2.2"),
            Payload::Udp {
                sport: 5,
                dport: 53,
            },
        );
        let info = decode_l3(&u[..20], &u[20..]).unwrap();
        assert_eq!((info.proto, info.sport, info.dport), (17, 5, 53));
        let e = ethernet([1; 6], [2; 6], &u);
        assert_eq!(&e[12..14], &[8, 0]);
    }

    #[test]
    fn icmp_v4_checksum_has_no_pseudo_header() {
        let p = build(ip("192.0.2.1"), ip("192.0.2.2"), Payload::Echo { id: 9 });
        assert_eq!(p[9], proto::ICMP);
        assert_eq!(checksum(&p[20..]), 0);
    }
}
