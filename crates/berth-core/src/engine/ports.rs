//! Published ports: resolving `-p` requests to concrete host ports inside
//! the store transaction (so two containers never get the same host port),
//! and turning bindings into firewall map elements.

use crate::error::{Error, Result};
use crate::firewall::{PortRule, PortTarget};
use crate::kernel::facts::Listener;
use crate::model::{PortBinding, PortSpec, Proto};
use crate::store::Tx;
use std::net::IpAddr;

/// First port of the ephemeral range (Docker's).
const EPHEMERAL_START: u16 = 49153;

fn addr_key(ip: Option<IpAddr>) -> String {
    ip.map(|i| i.to_string()).unwrap_or_default()
}

/// True when bindings to host addresses `a` and `b` share an address:
/// `None` is every address, `0.0.0.0` / `::` every address of a family.
fn overlaps(a: Option<IpAddr>, b: Option<IpAddr>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            x.is_ipv4() == y.is_ipv4() && (x.is_unspecified() || y.is_unspecified() || x == y)
        }
        _ => true,
    }
}

/// Why `port` cannot be bound at `ip`, if it cannot.
fn busy(
    tx: &Tx,
    proto: Proto,
    ip: Option<IpAddr>,
    port: u16,
    listeners: &[Listener],
) -> Result<Option<String>> {
    for (owner_ip, owner) in tx.port_owners(proto, port)? {
        if overlaps(owner_ip.parse().ok(), ip) {
            let name = tx.container(&owner)?.map_or(owner.clone(), |c| c.name);
            return Ok(Some(format!("it is already published by container {name}")));
        }
    }
    // A socket on `::` also takes IPv4 unless it is v6-only: assume it does.
    let clash = listeners.iter().find(|l| {
        l.proto == proto
            && l.port == port
            && (l.addr == IpAddr::from([0u16; 8]) || overlaps(Some(l.addr), ip))
    });
    Ok(clash.map(|l| {
        format!(
            "a process on this host is already listening on {}:{}",
            l.addr, l.port
        )
    }))
}

/// Finds `count` consecutive free host ports starting in `lo..=hi`.
fn find_free(
    tx: &Tx,
    proto: Proto,
    ip: Option<IpAddr>,
    (lo, hi): (u16, u16),
    count: u16,
    listeners: &[Listener],
) -> Result<Option<u16>> {
    let mut start = u32::from(lo);
    while start + u32::from(count) - 1 <= u32::from(hi) {
        let mut blocked = None;
        for p in start..start + u32::from(count) {
            if busy(tx, proto, ip, p as u16, listeners)?.is_some() {
                blocked = Some(p);
                break;
            }
        }
        match blocked {
            Some(p) => start = p + 1,
            None => return Ok(Some(start as u16)),
        }
    }
    Ok(None)
}

/// Resolves and reserves the host ports of `specs` for container `cid`.
/// `default_ip` is the network's `host_binding_ipv4`.
pub(crate) fn reserve(
    tx: &Tx,
    cid: &str,
    specs: &[PortSpec],
    default_ip: Option<IpAddr>,
    listeners: &[Listener],
) -> Result<Vec<PortBinding>> {
    let mut out = Vec::new();
    for s in specs {
        let ip = s.host_ip.or(default_ip);
        let count = s.container_ports.1 - s.container_ports.0 + 1;
        let host_port = match s.host_ports {
            Some((lo, hi)) if hi - lo + 1 == count => {
                for p in lo..=hi {
                    if let Some(why) = busy(tx, s.proto, ip, p, listeners)? {
                        return Err(Error::conflict(format!(
                            "host port {p}/{} is not free: {why}; choose another host port",
                            s.proto.as_str()
                        )));
                    }
                }
                lo
            }
            Some(range) => {
                find_free(tx, s.proto, ip, range, count, listeners)?.ok_or_else(|| {
                    Error::conflict(format!(
                        "no free host port in {}-{}/{}: choose another range",
                        range.0,
                        range.1,
                        s.proto.as_str()
                    ))
                })?
            }
            None => find_free(tx, s.proto, ip, (EPHEMERAL_START, 65535), count, listeners)?
                .ok_or_else(|| {
                    Error::conflict("no free ephemeral host port left: give an explicit host port")
                })?,
        };
        for p in host_port..=host_port + (count - 1) {
            tx.insert_port(s.proto, &addr_key(ip), p, cid)?;
        }
        out.push(PortBinding {
            host_ip: ip,
            host_port,
            container_port: s.container_ports.0,
            count,
            proto: s.proto,
        });
    }
    Ok(out)
}

/// The map elements forwarding `bindings` to a container at `v4` / `v6`.
/// A binding to all addresses forwards both families where the container
/// has an address of that family.
pub(crate) fn rules(
    bindings: &[PortBinding],
    v4: Option<IpAddr>,
    v6: Option<IpAddr>,
) -> Vec<PortRule> {
    let mut out = Vec::new();
    for b in bindings {
        let targets = match b.host_ip {
            Some(ip) if ip.is_ipv4() => vec![v4],
            Some(_) => vec![v6],
            None => vec![v4, v6],
        };
        for addr in targets.into_iter().flatten() {
            let rule = |host: (u16, u16), port: u16| PortRule {
                host_ip: b.host_ip,
                proto: b.proto,
                host_ports: host,
                target: PortTarget { addr, port },
            };
            if b.count == 1 || b.host_port == b.container_port {
                // One element: a single port, or a range keeping its numbers.
                out.push(rule(
                    (b.host_port, b.host_port + (b.count - 1)),
                    b.container_port,
                ));
            } else {
                // A shifted range needs one element per port (a map value
                // cannot add an offset).
                out.extend(
                    (0..b.count)
                        .map(|i| rule((b.host_port + i, b.host_port + i), b.container_port + i)),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(
        host_ip: Option<&str>,
        host_port: u16,
        container_port: u16,
        count: u16,
    ) -> PortBinding {
        PortBinding {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port,
            container_port,
            count,
            proto: Proto::Tcp,
        }
    }

    #[test]
    fn unspecified_addresses_cover_their_family() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(overlaps(None, ip("127.0.0.1")));
        assert!(overlaps(ip("0.0.0.0"), ip("127.0.0.1")));
        assert!(overlaps(ip("198.51.100.2"), ip("0.0.0.0")));
        assert!(!overlaps(ip("0.0.0.0"), ip("::1")));
        assert!(!overlaps(ip("127.0.0.1"), ip("198.51.100.2")));
        assert!(overlaps(ip("::"), ip("::1")));
    }

    #[test]
    fn all_addresses_forward_both_families() {
        let v4 = Some("172.17.0.2".parse().unwrap());
        let v6 = Some("fd00::2".parse().unwrap());
        assert_eq!(rules(&[binding(None, 8080, 80, 1)], v4, v6).len(), 2);
        assert_eq!(rules(&[binding(None, 8080, 80, 1)], v4, None).len(), 1);
        assert_eq!(
            rules(&[binding(Some("127.0.0.1"), 8080, 80, 1)], v4, v6).len(),
            1
        );
        assert_eq!(
            rules(&[binding(Some("::1"), 8080, 80, 1)], v4, None).len(),
            0
        );
    }

    #[test]
    fn ranges_are_one_element_unless_shifted() {
        let v4 = Some("172.17.0.2".parse().unwrap());
        let same = rules(&[binding(None, 8000, 8000, 11)], v4, None);
        assert_eq!(same.len(), 1);
        assert_eq!(same[0].host_ports, (8000, 8010));
        let shifted = rules(&[binding(None, 9000, 8000, 3)], v4, None);
        assert_eq!(
            shifted
                .iter()
                .map(|r| (r.host_ports.0, r.target.port))
                .collect::<Vec<_>>(),
            vec![(9000, 8000), (9001, 8001), (9002, 8002)]
        );
    }
}
