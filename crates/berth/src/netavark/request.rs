//! From netavark's network options to the engine's attach requests (pure).
//!
//! Each Podman network of the container becomes one attachment, as a CNI
//! ADD would be (`Engine::cni_add`): the network is built from
//! `network_info` on first use and marked Podman's, the addresses are the
//! ones Podman allocated (`static_ips`), and the container's name and
//! aliases become its DNS names on networks with DNS. Every network that
//! is not internal adds a default route beside the others (metric 100, as
//! netavark), so the container keeps one when a network goes; the first of
//! them (by name) publishes the ports.

use super::network::{network, ports};
use super::proto::{Network, NetworkOptions, PerNetworkOptions};
use berth_core::model::cni::{CniAdd, CniAddresses, CniAttachment, CniRoute};
use std::path::Path;

/// netavark's metric of default routes: every network that is not
/// internal adds one, beside the others.
const DEFAULT_METRIC: u32 = 100;

/// netavark's search domain: names are also answered as `NAME.dns.podman`.
pub const SEARCH_DOMAIN: &str = "dns.podman";

/// One network of a `setup`: the engine's request and what the status
/// block needs besides what the engine returns.
#[derive(Debug, Clone)]
pub struct Attach {
    /// The request.
    pub add: CniAdd,
    /// Names are served on the network's gateways.
    pub dns: bool,
}

/// The requests of a `setup` of namespace `netns`, in network-name order.
pub fn setup(o: &NetworkOptions, netns: &Path) -> Result<Vec<Attach>, String> {
    same_networks(o)?;
    if o.dns_servers.as_ref().is_some_and(|d| !d.is_empty())
        && o.network_info.values().any(|n| n.dns_enabled)
    {
        return Err(format!(
            "container {}: berth's resolver forwards to the host's resolvers and cannot use per-container DNS servers (--dns) on a network with DNS; drop --dns or use a network created with --disable-dns",
            o.container_name
        ));
    }
    let primary = o
        .network_info
        .iter()
        .find(|(_, n)| !n.internal)
        .or_else(|| o.network_info.iter().next())
        .map(|(name, _)| name.clone());
    let mut out = Vec::new();
    for (name, net) in &o.network_info {
        let per = &o.networks[name];
        let first = primary.as_deref() == Some(name.as_str());
        out.push(attach(o, net, per, netns, first)?);
    }
    Ok(out)
}

/// The attachments a `teardown` removes: (network, Podman container id,
/// interface), and whether the network has DNS.
pub fn teardown(o: &NetworkOptions) -> Result<Vec<(String, String, String, bool)>, String> {
    same_networks(o)?;
    Ok(o.networks
        .iter()
        .map(|(name, per)| {
            (
                name.clone(),
                o.container_id.clone(),
                per.interface_name.clone(),
                o.network_info[name].dns_enabled,
            )
        })
        .collect())
}

/// `networks` and `network_info` must name the same networks.
fn same_networks(o: &NetworkOptions) -> Result<(), String> {
    if o.container_id.is_empty() {
        return Err("no container_id in the network options".into());
    }
    for name in o.networks.keys() {
        if !o.network_info.contains_key(name) {
            return Err(format!("network {name} has no network_info entry"));
        }
    }
    for name in o.network_info.keys() {
        if !o.networks.contains_key(name) {
            return Err(format!("network options for network {name} not found"));
        }
    }
    Ok(())
}

fn attach(
    o: &NetworkOptions,
    net: &Network,
    per: &PerNetworkOptions,
    netns: &Path,
    primary: bool,
) -> Result<Attach, String> {
    let network = network(net)?;
    let ips = addresses(net, per, network.subnets.len())?;
    // A default route per network, beside the others (the engine gives
    // internal networks none).
    let routes = ["0.0.0.0/0", "::/0"]
        .iter()
        .filter_map(|d| d.parse().ok())
        .map(|dst| CniRoute { dst, gw: None })
        .collect();
    let ports = match (&o.port_mappings, primary) {
        (Some(p), true) => ports(p)?,
        _ => Vec::new(),
    };
    Ok(Attach {
        add: CniAdd {
            network,
            attachment: CniAttachment {
                network: net.name.clone(),
                container_id: o.container_id.clone(),
                ifname: per.interface_name.clone(),
                netns: netns.to_path_buf(),
                shaping: None,
                docker: false,
            },
            addresses: CniAddresses::Allocate(ips),
            mac: per.static_mac.clone(),
            ports,
            aliases: if net.dns_enabled {
                names(
                    &o.container_name,
                    per.aliases.as_deref().unwrap_or_default(),
                )
            } else {
                Vec::new()
            },
            routes,
            shaping: None,
            loopback: true,
            default_route_metric: Some(DEFAULT_METRIC),
        },
        dns: net.dns_enabled,
    })
}

/// The container's addresses on `net` (one per subnet, as Podman
/// allocates them), its MAC checked on the way.
fn addresses(
    net: &Network,
    per: &PerNetworkOptions,
    subnets: usize,
) -> Result<Vec<std::net::IpAddr>, String> {
    let ips = per.static_ips.clone().unwrap_or_default();
    if ips.len() != subnets {
        return Err(format!(
            "network {}: {} static IP(s) for {subnets} subnet(s): Podman allocates one address per subnet",
            net.name,
            ips.len()
        ));
    }
    if let Some(mac) = &per.static_mac {
        if berth_core::kernel::msg::parse_mac(mac).is_none() {
            return Err(format!(
                "network {}: static_mac {mac:?} is not a MAC address like 02:42:ac:11:00:02",
                net.name
            ));
        }
    }
    Ok(ips)
}

/// The container's DNS names: its name (when it is a valid DNS name) and
/// aliases, each also under netavark's search domain.
fn names(container: &str, aliases: &[String]) -> Vec<String> {
    let valid = berth_core::model::validate::alias("name", container).is_ok();
    let mut out = Vec::new();
    for n in std::iter::once(container)
        .filter(|_| valid)
        .chain(aliases.iter().map(String::as_str))
    {
        for name in [n.to_string(), format!("{n}.{SEARCH_DOMAIN}")] {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::proto::{parse, tests::ISOLATE1, tests::PODMAN_43};
    use super::*;
    use berth_core::model::{NetworkOwner, Proto};

    fn json(v: serde_json::Value) -> NetworkOptions {
        parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn podman_run_maps_to_one_attachment() {
        let o = parse(PODMAN_43.as_bytes()).unwrap();
        let r = setup(&o, Path::new("/run/netns/x")).unwrap();
        assert_eq!(r.len(), 1);
        let a = &r[0].add;
        assert_eq!(a.network.bridge.as_deref(), Some("podman1"));
        assert_eq!(
            a.network.subnets[0].range_start,
            Some("192.0.2.65".parse().unwrap())
        );
        assert_eq!(
            a.addresses,
            CniAddresses::Allocate(vec!["192.0.2.65".parse().unwrap()])
        );
        assert_eq!(a.ports.len(), 2);
        assert_eq!(a.ports[1].host_ports, Some((9000, 9001)));
        assert_eq!(a.ports[1].proto, Proto::Udp);
        assert!(a.aliases.contains(&"web".to_string()));
        assert!(a.aliases.contains(&"www.dns.podman".to_string()));
        assert_eq!(a.routes.len(), 2);
        assert_eq!(
            a.attachment.record_name(),
            format!("appnet:{}:eth0", o.container_id)
        );
        let Some(NetworkOwner::Podman(p)) = &a.network.owner else {
            panic!("not Podman's")
        };
        assert!(p.dns && !p.isolate);
        assert_eq!(teardown(&o).unwrap()[0].2, "eth0");
    }

    #[test]
    fn isolate_and_dual_stack() {
        let o = parse(ISOLATE1.as_bytes()).unwrap();
        let r = setup(&o, Path::new("/run/netns/x")).unwrap();
        let a = &r[0].add;
        let Some(NetworkOwner::Podman(p)) = &a.network.owner else {
            panic!("not Podman's")
        };
        assert!(p.isolate && !p.dns);
        assert!(a.aliases.is_empty(), "no DNS, no names");
        assert_eq!(a.network.subnets.len(), 2);
    }

    #[test]
    fn ports_go_to_the_first_network_that_is_not_internal() {
        let net = |name: &str, internal: bool| {
            serde_json::json!({"name": name, "id": name, "driver": "bridge", "network_interface": name,
                "internal": internal, "subnets": [{"subnet": format!("10.{}.0.0/24", name.len()), "gateway": format!("10.{}.0.1", name.len())}]})
        };
        let o = json(serde_json::json!({
            "container_id": "c", "container_name": "n",
            "port_mappings": [{"host_ip": "127.0.0.1", "container_port": 80, "host_port": 8080, "range": 0, "protocol": "tcp,udp"}],
            "networks": {"a": {"interface_name": "eth0", "static_ips": ["10.1.0.2"]},
                         "bb": {"interface_name": "eth1", "static_ips": ["10.2.0.2"]}},
            "network_info": {"a": net("a", true), "bb": net("bb", false)}
        }));
        let r = setup(&o, Path::new("/run/netns/x")).unwrap();
        assert!(r[0].add.ports.is_empty());
        assert_eq!(r[1].add.ports.len(), 2, "tcp and udp");
        assert_eq!(r[1].add.ports[0].host_ports, Some((8080, 8080)));
        assert_eq!(r[1].add.routes.len(), 2);
    }

    #[test]
    fn unsupported_input_is_refused_by_name() {
        let base = || {
            serde_json::json!({
                "container_id": "c", "container_name": "n",
                "networks": {"a": {"interface_name": "eth0", "static_ips": ["10.1.0.2"]}},
                "network_info": {"a": {"name": "a", "id": "i", "driver": "bridge", "network_interface": "p1",
                    "subnets": [{"subnet": "10.1.0.0/24", "gateway": "10.1.0.1"}]}}
            })
        };
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            ("/network_info/a/driver", "macvlan".into(), "macvlan"),
            (
                "/network_info/a/options",
                serde_json::json!({"vlan": "5"}),
                "vlan=5",
            ),
            (
                "/network_info/a/options",
                serde_json::json!({"isolate": "strict"}),
                "strict",
            ),
            (
                "/network_info/a/options",
                serde_json::json!({"mtu": "big"}),
                "big",
            ),
            (
                "/network_info/a/ipam_options",
                serde_json::json!({"driver": "dhcp"}),
                "dhcp",
            ),
            ("/network_info/a/network_interface", "".into(), "no bridge"),
            (
                "/networks/a/static_ips",
                serde_json::json!([]),
                "0 static IP",
            ),
            (
                "/networks/a/static_mac",
                "02:42:zz:00:00:01".into(),
                "02:42:zz",
            ),
            (
                "/port_mappings",
                serde_json::json!([{"container_port": 1, "host_port": 65535, "range": 2, "protocol": "tcp"}]),
                "past 65535",
            ),
            (
                "/port_mappings",
                serde_json::json!([{"container_port": 1, "host_port": 5, "range": 1, "protocol": "sctp"}]),
                "sctp",
            ),
            (
                "/port_mappings",
                serde_json::json!([{"host_ip": "x", "container_port": 1, "host_port": 5, "range": 1, "protocol": "tcp"}]),
                "\"x\"",
            ),
        ];
        for (ptr, value, needle) in cases {
            let mut v = base();
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            let target = if parent.is_empty() {
                &mut v
            } else {
                v.pointer_mut(parent).unwrap()
            };
            target[key] = value;
            let err = setup(&json(v), Path::new("/run/netns/x")).unwrap_err();
            assert!(err.contains(needle), "{ptr}: {err}");
        }
        let mut v = base();
        v["networks"]["b"] = serde_json::json!({"interface_name": "eth1"});
        assert!(setup(&json(v), Path::new("/x"))
            .unwrap_err()
            .contains("network b"));
        assert!(setup(&json(base()), Path::new("/x")).is_ok());
    }

    #[test]
    fn names_skip_an_invalid_container_name() {
        assert_eq!(
            names("bad..name", &["www".into()]),
            ["www", "www.dns.podman"]
        );
        assert_eq!(names("web", &["web".into()]), ["web", "web.dns.podman"]);
    }
}
