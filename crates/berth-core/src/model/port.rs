//! Published ports: parsing Docker's `-p` syntax and the stored bindings.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    /// Parses `tcp` / `udp` (case-insensitive); names the fix for `sctp`.
    pub fn parse(s: &str) -> Result<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Err(Error::invalid(
                "protocol sctp is not supported: this kernel has no SCTP; publish tcp or udp",
            )),
            _ => Err(Error::invalid(format!(
                "invalid protocol {s:?}: use tcp or udp (e.g. -p 8080:80/udp)"
            ))),
        }
    }
}

/// A `-p` request as typed: host port may be absent (ephemeral) or a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// Host address to bind, `None` = all addresses (v4 and v6).
    pub host_ip: Option<IpAddr>,
    /// Host port range; `None` = pick free ephemeral ports.
    pub host_ports: Option<(u16, u16)>,
    /// Container port range.
    pub container_ports: (u16, u16),
    /// Protocol.
    pub proto: Proto,
}

/// One resolved published port range of a container, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// Host address, `None` = all.
    pub host_ip: Option<IpAddr>,
    /// First host port.
    pub host_port: u16,
    /// First container port.
    pub container_port: u16,
    /// Number of consecutive ports.
    pub count: u16,
    /// Protocol.
    pub proto: Proto,
}

fn parse_port(s: &str, whole: &str) -> Result<u16> {
    match s.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(Error::invalid(format!(
            "invalid port {s:?} in -p {whole:?}: ports are numbers from 1 to 65535"
        ))),
    }
}

fn parse_range(s: &str, whole: &str) -> Result<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_port(a, whole)?, parse_port(b, whole)?);
            if b < a {
                return Err(Error::invalid(format!(
                    "invalid port range {s:?} in -p {whole:?}: the end is before the start"
                )));
            }
            Ok((a, b))
        }
        None => {
            let p = parse_port(s, whole)?;
            Ok((p, p))
        }
    }
}

/// Splits `[ip:][hostPort:]containerPort` where ip may be `[v6]`.
fn split_fields(s: &str) -> Result<(Option<&str>, Option<&str>, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, rest) = rest.split_once("]:").ok_or_else(|| {
            Error::invalid(format!("invalid -p {s:?}: expected [IPv6]:HOSTPORT:PORT"))
        })?;
        let (host, cont) = rest
            .split_once(':')
            .map_or((None, rest), |(h, c)| (Some(h), c));
        return Ok((Some(ip), host, cont));
    }
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [c] => Ok((None, None, c)),
        [h, c] => Ok((None, Some(h), c)),
        [ip, h, c] => Ok((Some(ip), Some(h), c)),
        _ => Err(Error::invalid(format!(
            "invalid -p {s:?}: use [IP:][HOSTPORT:]PORT[/PROTO], IPv6 addresses in brackets"
        ))),
    }
}

/// Parses one `-p [IP:][HOSTPORT:]PORT[/tcp|/udp]` value (ranges allowed).
pub fn parse_publish(s: &str) -> Result<PortSpec> {
    let (addr_ports, proto) = match s.rsplit_once('/') {
        Some((a, p)) => (a, Proto::parse(p)?),
        None => (s, Proto::Tcp),
    };
    let (ip, host, cont) = split_fields(addr_ports)?;
    let host_ip = match ip {
        None | Some("") => None,
        Some(ip) => Some(ip.parse::<IpAddr>().map_err(|_| {
            Error::invalid(format!(
                "invalid host IP {ip:?} in -p {s:?}: give an IPv4 address or an IPv6 address in brackets"
            ))
        })?),
    };
    let container_ports = parse_range(cont, s)?;
    let host_ports = match host {
        None | Some("") => None,
        Some(h) => Some(parse_range(h, s)?),
    };
    if let Some((a, b)) = host_ports {
        let (c, d) = container_ports;
        let host_len = b - a;
        let cont_len = d - c;
        if cont_len != 0 && host_len != cont_len {
            return Err(Error::invalid(format!(
                "invalid -p {s:?}: the host range {a}-{b} and the container range {c}-{d} differ in length"
            )));
        }
    }
    Ok(PortSpec {
        host_ip,
        host_ports,
        container_ports,
        proto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = parse_publish("8081:80").unwrap();
        assert_eq!(
            (p.host_ip, p.host_ports, p.container_ports, p.proto),
            (None, Some((8081, 8081)), (80, 80), Proto::Tcp)
        );
        let p = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(p.proto, Proto::Udp);
        let p = parse_publish("[::1]:8080:80").unwrap();
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        let p = parse_publish("80").unwrap();
        assert_eq!(p.host_ports, None);
        let p = parse_publish("8000-8010:8000-8010").unwrap();
        assert_eq!(p.host_ports, Some((8000, 8010)));
        let p = parse_publish("127.0.0.1::80").unwrap();
        assert_eq!(p.host_ports, None);
        let p = parse_publish("9000-9010:80").unwrap();
        assert_eq!(p.container_ports, (80, 80));
    }

    #[test]
    fn bad_values_name_the_problem() {
        for (bad, needle) in [
            ("70000:80", "70000"),
            ("0:80", "\"0\""),
            ("8080:80/sctp", "sctp"),
            ("8080:80/icmp", "icmp"),
            ("1.2.3:80:80", "1.2.3"),
            ("8000-8010:80-81", "differ"),
            ("a:b:c:d", "IPv6"),
            ("8010-8000:80", "end is before"),
        ] {
            let e = parse_publish(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
