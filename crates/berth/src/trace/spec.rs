//! What the user typed: `FROM` and `TO[:PORT][/PROTO]` (pure).

use anyhow::{bail, Result};
use std::net::IpAddr;

/// Where a packet starts or ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// This host (`host`).
    Host,
    /// Any address: a container's, the host's, or one outside.
    Addr(IpAddr),
    /// A container by name or id.
    Container(String),
}

/// The probe's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// A TCP SYN (connect).
    Tcp,
    /// One UDP datagram.
    Udp,
    /// An ICMP echo request (ping).
    Icmp,
}

impl Proto {
    /// `tcp`, `udp` or `icmp`.
    pub fn word(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }
}

/// The destination: a place, a port and a protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where.
    pub place: Place,
    /// The port (TCP/UDP).
    pub port: Option<u16>,
    /// The protocol: tcp when a port is given, icmp otherwise, unless
    /// `/PROTO` says.
    pub proto: Proto,
}

/// Parses `FROM`: `host`, an IP address or a container.
pub fn parse_from(s: &str) -> Result<Place> {
    if s.is_empty() {
        bail!("FROM is empty: give a container name, host, or an IP address");
    }
    Ok(place(s.trim_start_matches('[').trim_end_matches(']')))
}

fn place(s: &str) -> Place {
    if s == "host" {
        return Place::Host;
    }
    match s.parse::<IpAddr>() {
        Ok(ip) => Place::Addr(ip),
        Err(_) => Place::Container(s.to_string()),
    }
}

/// Parses `TO[:PORT][/PROTO]`: `web:80`, `host:8080/udp`, `203.0.113.1`,
/// `[2001:db8::1]:443`, `2001:db8::1`.
pub fn parse_to(s: &str) -> Result<Target> {
    let (rest, proto) = match s.rsplit_once('/') {
        Some((r, p)) => {
            let proto = match p {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                "icmp" | "icmpv6" | "ping" => Proto::Icmp,
                _ => bail!("unknown protocol {p:?} in {s:?}: use tcp, udp or icmp"),
            };
            (r, Some(proto))
        }
        None => (s, None),
    };
    let (host, port) = split_port(rest)?;
    if host.is_empty() {
        bail!("TO {s:?} names no destination: give a container, host or an IP address");
    }
    let proto = match (proto, port) {
        (Some(Proto::Icmp), Some(_)) => bail!("{s:?}: ICMP has no ports"),
        (Some(p), None) if p != Proto::Icmp => {
            bail!(
                "{s:?}: {} needs a port, e.g. {host}:80/{}",
                p.word(),
                p.word()
            )
        }
        (Some(p), _) => p,
        (None, Some(_)) => Proto::Tcp,
        (None, None) => Proto::Icmp,
    };
    Ok(Target {
        place: place(host),
        port,
        proto,
    })
}

fn split_port(s: &str) -> Result<(&str, Option<u16>)> {
    if let Some(v6) = s.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            bail!("{s:?}: missing ']' after the IPv6 address");
        };
        return match after.strip_prefix(':') {
            Some(p) => Ok((addr, Some(port(p, s)?))),
            None if after.is_empty() => Ok((addr, None)),
            None => bail!("{s:?}: expected [ADDRESS]:PORT"),
        };
    }
    if s.parse::<IpAddr>().is_ok() {
        return Ok((s, None));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h, Some(port(p, s)?))),
        None => Ok((s, None)),
    }
}

fn port(p: &str, whole: &str) -> Result<u16> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("invalid port {p:?} in {whole:?}: ports are numbers from 1 to 65535"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        parse_to(s).unwrap()
    }

    #[test]
    fn destinations() {
        assert_eq!(t("web:80").place, Place::Container("web".into()));
        assert_eq!(
            (t("web:80").port, t("web:80").proto),
            (Some(80), Proto::Tcp)
        );
        assert_eq!(t("web").proto, Proto::Icmp);
        assert_eq!(t("host:8080/udp").place, Place::Host);
        assert_eq!(t("host:8080/udp").proto, Proto::Udp);
        let v6 = t("[2001:db8::1]:443");
        assert_eq!(v6.place, Place::Addr("2001:db8::1".parse().unwrap()));
        assert_eq!(v6.port, Some(443));
        assert_eq!(t("2001:db8::1").port, None);
        assert_eq!(t("203.0.113.1:53/udp").port, Some(53));
    }

    #[test]
    fn bad_destinations_say_why() {
        for (bad, why) in [
            ("web:0", "invalid port"),
            ("web:http", "invalid port"),
            ("web/sctp", "unknown protocol"),
            ("web/udp", "needs a port"),
            ("web:80/icmp", "no ports"),
            (":80", "names no destination"),
            ("[2001:db8::1:80", "missing ']'"),
        ] {
            let e = parse_to(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn sources() {
        assert_eq!(parse_from("host").unwrap(), Place::Host);
        assert_eq!(
            parse_from("198.51.100.3").unwrap(),
            Place::Addr("198.51.100.3".parse().unwrap())
        );
        assert_eq!(parse_from("a1").unwrap(), Place::Container("a1".into()));
        assert!(parse_from("").is_err());
    }
}
