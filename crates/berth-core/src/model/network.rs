//! Networks: the `network create` request, its validation, and the stored form.

use crate::error::{Error, Result};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

pub use super::gwmode::{check_iface_prefix, GwMode};

/// A network driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// A Linux bridge with NAT (Docker's default).
    Bridge,
    /// The host's own network stack.
    Host,
    /// Loopback only (`none`).
    Null,
    /// Containers get macvlan interfaces on a parent link: addresses on
    /// the parent's LAN (see `drivers::macvlan`).
    Macvlan,
    /// Like macvlan, sharing the parent's MAC address (needs CONFIG_IPVLAN).
    Ipvlan,
    /// One network across every host sharing a cluster store (VXLAN; see
    /// `drivers::overlay`).
    Overlay,
}

impl Driver {
    /// Parses a `--driver` value.
    pub fn parse(s: &str) -> Result<Driver> {
        match s {
            "bridge" => Ok(Driver::Bridge),
            "host" => Ok(Driver::Host),
            "null" | "none" => Ok(Driver::Null),
            "macvlan" => Ok(Driver::Macvlan),
            "ipvlan" => Ok(Driver::Ipvlan),
            "overlay" => Ok(Driver::Overlay),
            _ => Err(Error::invalid(format!(
                "unknown network driver {s:?}: use bridge, macvlan, ipvlan or overlay (the host and none networks exist already)"
            ))),
        }
    }

    /// The driver's name as Docker prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Host => "host",
            Driver::Null => "null",
            Driver::Macvlan => "macvlan",
            Driver::Ipvlan => "ipvlan",
            Driver::Overlay => "overlay",
        }
    }

    /// True for drivers whose containers get endpoints (an interface and an
    /// address of their own): every driver but `host` and `null`.
    pub fn has_endpoints(self) -> bool {
        !matches!(self, Driver::Host | Driver::Null)
    }
}

/// Address management of one subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamConfig {
    /// The subnet.
    pub subnet: IpNet,
    /// The gateway (the bridge's address).
    pub gateway: IpAddr,
    /// Containers get addresses from this sub-range only.
    pub ip_range: Option<IpNet>,
    /// Addresses reserved by name (`--aux-address name=ip`).
    pub aux: BTreeMap<String, IpAddr>,
    /// First address handed out (CNI `rangeStart`), within `ip_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_start: Option<IpAddr>,
    /// Last address handed out (CNI `rangeEnd`), within `ip_range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end: Option<IpAddr>,
}

/// A stored network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// 64-hex id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Driver.
    pub driver: Driver,
    /// Creation time (RFC 3339).
    pub created: String,
    /// IPv6 enabled.
    pub ipv6: bool,
    /// `--internal`.
    pub internal: bool,
    /// Subnets (empty for host and null).
    pub ipam: Vec<IpamConfig>,
    /// `-o` options as given.
    pub options: BTreeMap<String, String>,
    /// `--label`s.
    pub labels: BTreeMap<String, String>,
    /// The Linux bridge (bridge driver only).
    pub bridge: Option<String>,
    /// MTU of the bridge and container interfaces.
    pub mtu: u32,
    /// Inter-container communication allowed.
    pub icc: bool,
    /// Outbound masquerade.
    pub masquerade: bool,
    /// Default host address for published ports.
    pub host_binding_ipv4: Option<IpAddr>,
    /// One of the built-in networks (`bridge`, `host`, `none`).
    pub builtin: bool,
    /// The program that manages the network, if not berth's own commands
    /// (absent from records of earlier versions: berth's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<super::NetworkOwner>,
    /// Docker's id of the network when Docker made it through `berth
    /// docker-plugin`: Docker owns it (only `docker network rm` removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<String>,
}

impl Network {
    /// Whether berth's embedded DNS serves this network: every user-defined
    /// network does (as Docker's), the built-in ones do not. Not macvlan or
    /// ipvlan networks: their gateway is a router of the parent's LAN, not
    /// an address of this host the resolver could listen on (and the host
    /// cannot reach its own macvlan containers anyway); their containers
    /// get the host's resolvers.
    /// A Podman network is served only when Podman enabled DNS on it.
    pub fn dns_enabled(&self) -> bool {
        match &self.owner {
            Some(super::NetworkOwner::Podman(p)) => p.dns,
            None => !self.builtin && matches!(self.driver, Driver::Bridge | Driver::Overlay),
        }
    }

    /// Whether the network reaches other networks that do too (Podman
    /// networks without `isolate`, as netavark lets them); every other
    /// network is isolated from the rest, as Docker's are.
    pub fn reaches_others(&self) -> bool {
        match &self.owner {
            Some(super::NetworkOwner::Podman(p)) => !p.isolate && !self.internal,
            None => false,
        }
    }
}

/// A `--subnet` with the `--gateway`, `--ip-range` and `--aux-address`
/// values that fall inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetRequest {
    /// The subnet, `None` = pick one from the default pools.
    pub subnet: Option<IpNet>,
    /// Requested gateway.
    pub gateway: Option<IpAddr>,
    /// Requested range.
    pub ip_range: Option<IpNet>,
    /// Reserved addresses.
    pub aux: BTreeMap<String, IpAddr>,
}

/// The `network create` request as typed by the user.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    /// Network name.
    pub name: String,
    /// `--driver`.
    pub driver: String,
    /// `--subnet` values.
    pub subnets: Vec<String>,
    /// `--gateway` values.
    pub gateways: Vec<String>,
    /// `--ip-range` values.
    pub ip_ranges: Vec<String>,
    /// `--aux-address name=ip` values.
    pub aux_addresses: Vec<String>,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--internal`.
    pub internal: bool,
    /// `--label k=v` values.
    pub labels: Vec<String>,
    /// `-o k=v` values.
    pub options: Vec<String>,
}

/// Bridge options a user may set with `-o`.
pub mod opt {
    /// Name of the Linux bridge.
    pub const BRIDGE_NAME: &str = "com.docker.network.bridge.name";
    /// Inter-container communication.
    pub const ICC: &str = "com.docker.network.bridge.enable_icc";
    /// Outbound masquerade.
    pub const MASQ: &str = "com.docker.network.bridge.enable_ip_masquerade";
    /// Default host address of published ports.
    pub const HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";
    /// MTU.
    pub const MTU: &str = "com.docker.network.driver.mtu";
    /// IPv4 gateway mode: nat, nat-unprotected, routed or isolated.
    pub const GW_MODE4: &str = "com.docker.network.bridge.gateway_mode_ipv4";
    /// IPv6 gateway mode.
    pub const GW_MODE6: &str = "com.docker.network.bridge.gateway_mode_ipv6";
    /// No IPv4 address on the bridge (the gateway is another machine).
    pub const INHIBIT_IPV4: &str = "com.docker.network.bridge.inhibit_ipv4";
    /// Prefix of the containers' interface names (any driver).
    pub const IFACE_PREFIX: &str = "com.docker.network.container_iface_prefix";
    /// Every option berth understands.
    pub const ALL: [&str; 9] = [
        BRIDGE_NAME,
        ICC,
        MASQ,
        HOST_BINDING,
        MTU,
        GW_MODE4,
        GW_MODE6,
        INHIBIT_IPV4,
        IFACE_PREFIX,
    ];
}

fn parse_net(s: &str, flag: &str) -> Result<IpNet> {
    let net: IpNet = s.parse().map_err(|_| {
        Error::invalid(format!(
            "invalid {flag} {s:?}: expected CIDR notation like 10.10.0.0/24 or fd00:1::/64"
        ))
    })?;
    if net.trunc() != net {
        return Err(Error::invalid(format!(
            "invalid {flag} {s:?}: host bits are set; did you mean {}?",
            net.trunc()
        )));
    }
    Ok(net)
}

fn parse_ip(s: &str, flag: &str) -> Result<IpAddr> {
    s.parse().map_err(|_| {
        Error::invalid(format!(
            "invalid {flag} {s:?}: expected an IP address like 10.10.0.1"
        ))
    })
}

/// Parses `k=v` pairs (`--label`, `-o`); a label without `=` has an empty value.
pub fn parse_kv(
    items: &[String],
    flag: &str,
    need_value: bool,
) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for item in items {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k, v),
            None if !need_value => (item.as_str(), ""),
            None => {
                return Err(Error::invalid(format!(
                    "invalid {flag} {item:?}: expected KEY=VALUE"
                )))
            }
        };
        if k.is_empty() {
            return Err(Error::invalid(format!(
                "invalid {flag} {item:?}: the key is empty"
            )));
        }
        map.insert(k.to_string(), v.to_string());
    }
    Ok(map)
}

impl NetworkCreate {
    /// Parses and pairs `--subnet/--gateway/--ip-range/--aux-address` the way
    /// Docker does: each of the others must fall in exactly one subnet.
    pub fn subnet_requests(&self) -> Result<Vec<SubnetRequest>> {
        let mut reqs: Vec<SubnetRequest> = Vec::new();
        for s in &self.subnets {
            let net = parse_net(s, "--subnet")?;
            if let Some(o) = reqs
                .iter()
                .filter_map(|r| r.subnet)
                .find(|o| o.contains(&net.network()) || net.contains(&o.network()))
            {
                return Err(Error::invalid(format!(
                    "invalid --subnet {s}: it overlaps --subnet {o}; give non-overlapping subnets"
                )));
            }
            reqs.push(SubnetRequest {
                subnet: Some(net),
                gateway: None,
                ip_range: None,
                aux: BTreeMap::new(),
            });
        }
        let owner = |ip: IpAddr,
                     flag: &str,
                     value: &str,
                     reqs: &mut Vec<SubnetRequest>|
         -> Result<usize> {
            reqs.iter()
                .position(|r| r.subnet.is_some_and(|n| n.contains(&ip)))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "invalid {flag} {value}: it is not inside any --subnet ({}); give an address inside the subnet",
                        if self.subnets.is_empty() { "none given".to_string() } else { self.subnets.join(", ") }
                    ))
                })
        };
        for g in &self.gateways {
            let ip = parse_ip(g, "--gateway")?;
            let i = owner(ip, "--gateway", g, &mut reqs)?;
            if reqs[i].gateway.replace(ip).is_some() {
                return Err(Error::invalid(format!(
                    "invalid --gateway {g}: its subnet already has a gateway"
                )));
            }
        }
        for r in &self.ip_ranges {
            let net = parse_net(r, "--ip-range")?;
            let i = owner(net.network(), "--ip-range", r, &mut reqs)?;
            let subnet = reqs[i].subnet.unwrap_or(net);
            if !subnet.contains(&net) {
                return Err(Error::invalid(format!(
                    "invalid --ip-range {r}: it is larger than its subnet {subnet}"
                )));
            }
            reqs[i].ip_range = Some(net);
        }
        for (name, ip) in parse_kv(&self.aux_addresses, "--aux-address", true)? {
            let addr = parse_ip(&ip, "--aux-address")?;
            let i = owner(addr, "--aux-address", &ip, &mut reqs)?;
            reqs[i].aux.insert(name, addr);
        }
        Ok(reqs)
    }

    /// Checks the `-o` options; returns them parsed.
    pub fn parsed_options(&self) -> Result<BTreeMap<String, String>> {
        let opts = parse_kv(&self.options, "-o/--opt", true)?;
        for (k, v) in &opts {
            super::gwmode::check_bridge_option(k, v, self.internal)?;
        }
        Ok(opts)
    }
}

/// Parses a boolean option value like Docker (`true`/`false`/`1`/`0`).
pub fn parse_bool_opt(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid(format!(
            "invalid value {v:?} for option {key}: use true or false"
        ))),
    }
}

/// Parses an MTU option value.
pub fn parse_mtu(v: &str) -> Result<u32> {
    match v.parse::<u32>() {
        Ok(m) if (68..=65535).contains(&m) => Ok(m),
        _ => Err(Error::invalid(format!(
            "invalid value {v:?} for option {}: an MTU is a number from 68 to 65535",
            opt::MTU
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(subnets: &[&str], gws: &[&str]) -> NetworkCreate {
        NetworkCreate {
            name: "n".into(),
            driver: "bridge".into(),
            subnets: subnets.iter().map(|s| s.to_string()).collect(),
            gateways: gws.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn pairs_gateways_with_subnets() {
        let r = req(
            &["10.1.0.0/24", "fd00:1::/64"],
            &["fd00:1::fe", "10.1.0.254"],
        )
        .subnet_requests()
        .unwrap();
        assert_eq!(r[0].gateway, Some("10.1.0.254".parse().unwrap()));
        assert_eq!(r[1].gateway, Some("fd00:1::fe".parse().unwrap()));
    }

    #[test]
    fn bad_input_names_the_value() {
        let e = req(&["10.1.0.0/33"], &[])
            .subnet_requests()
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.1.0.0/33"), "{e}");
        let e = req(&["10.1.0.5/24"], &[])
            .subnet_requests()
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.1.0.0/24"), "{e}");
        let e = req(&["10.1.0.0/24"], &["10.2.0.1"])
            .subnet_requests()
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.2.0.1") && e.contains("not inside"), "{e}");
        let e = req(&["10.1.0.0/16", "10.1.2.0/24"], &[])
            .subnet_requests()
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlaps"), "{e}");
        let mut r = req(&[], &[]);
        r.options = vec!["com.docker.network.bridge.nope=1".into()];
        assert!(r.parsed_options().unwrap_err().to_string().contains("nope"));
        assert!(parse_mtu("10").is_err());
        assert!(parse_bool_opt("x", "maybe").is_err());
    }
}
