//! The network a CNI configuration names: created on the first ADD (with
//! the configuration's settings, berth's defaults for the rest), checked
//! against the configuration on every later one.

use super::{CniFailure, CniResult};
use crate::engine::Engine;
use crate::error::ErrorKind;
use crate::model::cni::{CniAddresses, CniNetwork, CniSubnet};
use crate::model::network::opt;
use crate::model::{Driver, Network, NetworkCreate, SubnetRequest};
use std::collections::BTreeMap;

impl Engine {
    /// The network `spec` names: the existing one if its settings match,
    /// else a new one. `addresses` given by a previous plugin shape the
    /// subnets of a new network when the configuration has none.
    pub(crate) fn cni_network(
        &mut self,
        spec: &CniNetwork,
        addresses: &CniAddresses,
    ) -> CniResult<Network> {
        if let Some(net) = self.network_named(&spec.name)? {
            return check_settings(spec, &net).map(|()| net);
        }
        let subnets = match (spec.subnets.is_empty(), addresses) {
            (true, CniAddresses::Given(given)) => given
                .iter()
                .map(|(a, gw)| CniSubnet {
                    subnet: a.trunc(),
                    gateway: *gw,
                    range_start: None,
                    range_end: None,
                })
                .collect(),
            _ => spec.subnets.clone(),
        };
        let req = create_request(spec);
        let reqs: Vec<SubnetRequest> = subnets
            .iter()
            .map(|s| SubnetRequest {
                subnet: Some(s.subnet),
                gateway: s.gateway,
                ip_range: None,
                aux: BTreeMap::new(),
            })
            .collect();
        let made = self.create_bridge_network(&req, &reqs, |net| {
            for (cfg, s) in net.ipam.iter_mut().zip(&subnets) {
                cfg.range_start = s.range_start;
                cfg.range_end = s.range_end;
            }
            Ok(())
        });
        match made {
            Ok(net) => Ok(net),
            // Another ADD created it meanwhile: use it if it matches.
            Err(e) if e.kind() == ErrorKind::Conflict => match self.network_named(&spec.name)? {
                Some(net) => check_settings(spec, &net).map(|()| net),
                None => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The network called exactly `name` (not an id or id prefix).
    fn network_named(&mut self, name: &str) -> crate::Result<Option<Network>> {
        Ok(self
            .store
            .read(|tx| tx.network(name))?
            .filter(|n| n.name == name))
    }
}

/// The `network create` request for `spec` (subnets are passed apart).
fn create_request(spec: &CniNetwork) -> NetworkCreate {
    let mut options = Vec::new();
    if let Some(b) = &spec.bridge {
        options.push(format!("{}={b}", opt::BRIDGE_NAME));
    }
    if let Some(m) = spec.mtu {
        options.push(format!("{}={m}", opt::MTU));
    }
    if let Some(m) = spec.masquerade {
        options.push(format!("{}={m}", opt::MASQ));
    }
    if let Some(i) = spec.icc {
        options.push(format!("{}={i}", opt::ICC));
    }
    NetworkCreate {
        name: spec.name.clone(),
        driver: "bridge".into(),
        ipv6: false,
        internal: spec.internal.unwrap_or(false),
        options,
        ..Default::default()
    }
}

/// Fails with every difference between what `spec` asks for and what the
/// existing network `net` has.
fn check_settings(spec: &CniNetwork, net: &Network) -> CniResult<()> {
    let diffs = differences(spec, net);
    if diffs.is_empty() {
        return Ok(());
    }
    Err(CniFailure::Settings(format!(
        "network {} already exists with other settings ({}): use the same settings in the configuration, or another network name; nothing was changed",
        net.name,
        diffs.join("; ")
    )))
}

fn differences(spec: &CniNetwork, net: &Network) -> Vec<String> {
    let mut d = Vec::new();
    if net.driver != Driver::Bridge {
        d.push(format!("its driver is {}, not bridge", net.driver.as_str()));
    }
    if let Some(b) = spec
        .bridge
        .as_ref()
        .filter(|b| net.bridge.as_ref() != Some(*b))
    {
        d.push(format!(
            "bridge {} instead of {b}",
            net.bridge.as_deref().unwrap_or("none")
        ));
    }
    d.extend(subnet_differences(spec, net));
    let flags = [
        ("mtu", spec.mtu.map(|m| m.to_string()), net.mtu.to_string()),
        (
            "ipMasq",
            spec.masquerade.map(|m| m.to_string()),
            net.masquerade.to_string(),
        ),
        (
            "portIsolation",
            spec.icc.map(|i| (!i).to_string()),
            (!net.icc).to_string(),
        ),
        (
            "internal",
            spec.internal.map(|i| i.to_string()),
            net.internal.to_string(),
        ),
    ];
    for (what, want, got) in flags {
        if let Some(w) = want.filter(|w| *w != got) {
            d.push(format!("{what} {got} instead of {w}"));
        }
    }
    d
}

/// Differences in subnets, gateways and handed-out ranges (only those the
/// configuration gives).
fn subnet_differences(spec: &CniNetwork, net: &Network) -> Vec<String> {
    let mut d = Vec::new();
    if spec.subnets.is_empty() {
        return d;
    }
    let mut have: Vec<String> = net.ipam.iter().map(|c| c.subnet.to_string()).collect();
    let mut want: Vec<String> = spec.subnets.iter().map(|s| s.subnet.to_string()).collect();
    have.sort();
    want.sort();
    if have != want {
        d.push(format!(
            "subnets {} instead of {}",
            have.join(", "),
            want.join(", ")
        ));
    }
    let show = |ip: Option<std::net::IpAddr>| ip.map_or("none".into(), |i| i.to_string());
    for s in &spec.subnets {
        let Some(c) = net.ipam.iter().find(|c| c.subnet == s.subnet) else {
            continue;
        };
        let pairs = [
            ("gateway", s.gateway, Some(c.gateway)),
            ("rangeStart", s.range_start, c.range_start),
            ("rangeEnd", s.range_end, c.range_end),
        ];
        for (what, want, got) in pairs {
            if want.is_some() && want != got {
                d.push(format!("{what} {} instead of {}", show(got), show(want)));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IpamConfig;

    fn net() -> Network {
        Network {
            id: "ab".repeat(32),
            name: "podnet".into(),
            driver: Driver::Bridge,
            created: String::new(),
            ipv6: false,
            internal: false,
            ipam: vec![IpamConfig {
                subnet: "10.88.0.0/16".parse().unwrap(),
                gateway: "10.88.0.1".parse().unwrap(),
                ip_range: None,
                aux: BTreeMap::new(),
                range_start: None,
                range_end: None,
            }],
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            bridge: Some("cni-podnet".into()),
            mtu: 1500,
            icc: true,
            masquerade: true,
            host_binding_ipv4: None,
            builtin: false,
            docker: None,
        }
    }

    #[test]
    fn only_given_settings_are_compared() {
        let spec = CniNetwork {
            name: "podnet".into(),
            ..Default::default()
        };
        assert!(differences(&spec, &net()).is_empty());
        let spec = CniNetwork {
            name: "podnet".into(),
            bridge: Some("cni-podnet".into()),
            subnets: vec![CniSubnet {
                subnet: "10.88.0.0/16".parse().unwrap(),
                gateway: Some("10.88.0.1".parse().unwrap()),
                range_start: None,
                range_end: None,
            }],
            mtu: Some(1500),
            masquerade: Some(true),
            icc: Some(true),
            internal: Some(false),
        };
        assert!(differences(&spec, &net()).is_empty());
    }

    #[test]
    fn differences_are_named() {
        let spec = CniNetwork {
            name: "podnet".into(),
            bridge: Some("cni0".into()),
            subnets: vec![CniSubnet {
                subnet: "10.89.0.0/16".parse().unwrap(),
                gateway: None,
                range_start: None,
                range_end: None,
            }],
            mtu: Some(1400),
            masquerade: Some(false),
            icc: Some(false),
            internal: None,
        };
        let d = differences(&spec, &net()).join("; ");
        for needle in [
            "cni0",
            "10.89.0.0/16",
            "mtu 1500 instead of 1400",
            "ipMasq",
            "portIsolation",
        ] {
            assert!(d.contains(needle), "{needle}: {d}");
        }
    }
}
