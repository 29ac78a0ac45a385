//! A Podman network's definition and published ports as berth's (pure):
//! the bridge driver's options netavark 1.4 knows, the IPAM it supports,
//! and port ranges per protocol. What berth cannot serve is refused with
//! a message naming it, never ignored.

use super::proto::{Network, PortMapping};
use berth_core::model::cni::{CniNetwork, CniSubnet};
use berth_core::model::{NetworkOwner, PodmanNetwork, PortSpec, Proto};

/// The berth network a Podman network is.
pub fn network(n: &Network) -> Result<CniNetwork, String> {
    if n.driver != "bridge" {
        return Err(format!(
            "network {}: driver {:?} is not supported: berth's netavark mode serves bridge networks (keep netavark for {0})",
            n.name, n.driver
        ));
    }
    let ipam = n.ipam_options.as_ref().and_then(|m| m.get("driver"));
    if let Some(d) = ipam.filter(|d| d.as_str() != "host-local") {
        return Err(format!(
            "network {}: IPAM driver {d:?} is not supported: berth gives every container an address from the network's subnets (host-local)",
            n.name
        ));
    }
    if n.network_dns_servers
        .as_ref()
        .is_some_and(|d| !d.is_empty())
    {
        return Err(format!(
            "network {}: berth's resolver forwards to the host's resolvers and cannot use network DNS servers (podman network create --dns)",
            n.name
        ));
    }
    let bridge = n
        .network_interface
        .clone()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("network {}: no bridge interface name given", n.name))?;
    let (mtu, isolate) = options(n)?;
    let subnets: Vec<CniSubnet> = n
        .subnets
        .iter()
        .flatten()
        .map(|s| CniSubnet {
            subnet: s.subnet,
            gateway: s.gateway,
            range_start: s.lease_range.as_ref().and_then(|r| r.start_ip),
            range_end: s.lease_range.as_ref().and_then(|r| r.end_ip),
        })
        .collect();
    if subnets.is_empty() {
        return Err(format!("network {}: no subnets", n.name));
    }
    Ok(CniNetwork {
        name: n.name.clone(),
        bridge: Some(bridge),
        subnets,
        mtu,
        masquerade: None,
        icc: None,
        internal: Some(n.internal),
        owner: Some(NetworkOwner::Podman(PodmanNetwork {
            id: n.id.clone(),
            isolate,
            dns: n.dns_enabled,
        })),
    })
}

/// The bridge driver's options netavark 1.4 knows: `mtu` (0 = default)
/// and `isolate`; anything else is refused rather than ignored.
fn options(n: &Network) -> Result<(Option<u32>, bool), String> {
    let mut mtu = None;
    let mut isolate = false;
    for (k, v) in n.options.iter().flatten() {
        match k.as_str() {
            "mtu" => {
                let m: u32 = v
                    .parse()
                    .map_err(|_| format!("network {}: option mtu={v:?} is not a number", n.name))?;
                mtu = (m != 0).then_some(m);
            }
            "isolate" => {
                isolate = parse_bool(v).ok_or_else(|| {
                    format!(
                        "network {}: option isolate={v:?}: expected true or false",
                        n.name
                    )
                })?
            }
            _ => {
                return Err(format!(
                "network {}: option {k}={v} is not supported by berth (it knows mtu and isolate)",
                n.name
            ))
            }
        }
    }
    Ok((mtu, isolate))
}

/// Go's `strconv.ParseBool`, which Podman wrote the value with.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Published port ranges: one spec per protocol of each mapping.
pub fn ports(maps: &[PortMapping]) -> Result<Vec<PortSpec>, String> {
    let mut out = Vec::new();
    for p in maps {
        let count = p.range.max(1);
        let last = |first: u16, what: &str| {
            first.checked_add(count - 1).ok_or_else(|| {
                format!("published {what} port {first} + range {count} is past 65535")
            })
        };
        if p.host_port == 0 || p.container_port == 0 {
            return Err(format!(
                "published port {}:{}: port 0 is not a port",
                p.host_port, p.container_port
            ));
        }
        let host_ip = match p.host_ip.as_str() {
            "" => None,
            ip => Some(
                ip.parse()
                    .map_err(|_| format!("published port host_ip {ip:?} is not an IP address"))?,
            ),
        };
        let protocols = if p.protocol.is_empty() {
            "tcp"
        } else {
            &p.protocol
        };
        for proto in protocols.split(',').map(str::trim) {
            let proto = match proto {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                other => {
                    return Err(format!(
                        "published port {}: protocol {other:?} is not supported (berth publishes tcp and udp)",
                        p.host_port
                    ))
                }
            };
            out.push(PortSpec {
                host_ip,
                host_ports: Some((p.host_port, last(p.host_port, "host")?)),
                container_ports: (p.container_port, last(p.container_port, "container")?),
                proto,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_booleans_and_port_ranges() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        let p = |range, protocol: &str| PortMapping {
            host_ip: String::new(),
            container_port: 80,
            host_port: 8080,
            range,
            protocol: protocol.into(),
        };
        let one = ports(&[p(0, "")]).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].host_ports, Some((8080, 8080)));
        assert_eq!(one[0].proto, Proto::Tcp);
        let both = ports(&[p(3, "tcp,udp")]).unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(both[1].container_ports, (80, 82));
        assert_eq!(both[1].proto, Proto::Udp);
    }
}
