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
            // A Podman network of that name that Podman has since deleted
            // and made again (a new id), left by a crash: forget it if no
            // container uses it, and build the new one.
            let stale = spec.owner.is_some() && net.owner.is_some() && spec.owner != net.owner;
            if !stale || !self.release_owned_network(&net.name)? {
                return check_settings(spec, &net).map(|()| net);
            }
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
            net.owner = spec.owner.clone();
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

    /// Removes the network called `name` if another program manages it
    /// and no container uses it any more (netavark removes a bridge with
    /// its last container). Whether it was removed.
    pub fn release_owned_network(&mut self, name: &str) -> crate::Result<bool> {
        self.require_root()?;
        let _lock = self.lock()?;
        let net = self.store.read(|tx| tx.network_by_name(name))?;
        let Some(net) = net.filter(|n| n.owner.is_some()) else {
            return Ok(false);
        };
        match self.remove_unused_network(&net) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::Conflict => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The network called exactly `name` (not an id or id prefix).
    pub(super) fn network_named(&mut self, name: &str) -> crate::Result<Option<Network>> {
        self.store.read(|tx| tx.network_by_name(name))
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
    let mut d = owner_differences(spec, net);
    // An overlay network's pods are bridged too (cni/overlay.rs).
    if !matches!(net.driver, Driver::Bridge | Driver::Overlay) {
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

/// Who manages the network: a CNI configuration may not take a Podman
/// network, nor Podman a network of berth's or another Podman network.
fn owner_differences(spec: &CniNetwork, net: &Network) -> Vec<String> {
    use crate::model::NetworkOwner::Podman;
    match (&spec.owner, &net.owner) {
        (a, b) if a == b => Vec::new(),
        (_, Some(o)) if spec.owner.is_none() => vec![format!("it is {}'s network", o.program())],
        (Some(o), None) => vec![format!(
            "it is berth's own network, not {}'s: rename one of them",
            o.program()
        )],
        (Some(Podman(want)), Some(Podman(got))) => {
            let mut d = Vec::new();
            if want.id != got.id {
                d.push(format!(
                    "Podman network id {} instead of {}, and containers still use it",
                    got.id, want.id
                ));
            }
            for (what, w, g) in [
                ("isolate", want.isolate, got.isolate),
                ("dns_enabled", want.dns, got.dns),
            ] {
                if w != g {
                    d.push(format!("{what} {g} instead of {w}"));
                }
            }
            d
        }
        _ => Vec::new(),
    }
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
            owner: None,
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
            owner: None,
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
            owner: None,
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

    #[test]
    fn owners_must_match() {
        use crate::model::{NetworkOwner, PodmanNetwork};
        let podman = |id: &str, isolate| {
            Some(NetworkOwner::Podman(PodmanNetwork {
                id: id.into(),
                isolate,
                dns: true,
            }))
        };
        let spec = |owner| CniNetwork {
            name: "podnet".into(),
            owner,
            ..Default::default()
        };
        let mut n = net();
        assert!(differences(&spec(podman("p1", false)), &n)[0].contains("berth's own"));
        n.owner = podman("p1", false);
        assert!(differences(&spec(podman("p1", false)), &n).is_empty());
        assert!(differences(&spec(None), &n)[0].contains("Podman's network"));
        let d = differences(&spec(podman("p2", true)), &n).join("; ");
        assert!(d.contains("id p1 instead of p2"), "{d}");
        assert!(d.contains("isolate false instead of true"), "{d}");
    }
}
