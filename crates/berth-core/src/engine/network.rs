//! Network operations: create, remove, list, prune; and the pure planning of
//! a bridge network from a request.

use super::{require_root, Engine};
use crate::error::{Error, Result};
use crate::firewall::NetworkRules;
use crate::ids;
use crate::ipam;
use crate::kernel::{sysctl, HostFacts};
use crate::model::network::{opt, parse_bool_opt, parse_kv, parse_mtu};
use crate::model::{Driver, IpamConfig, Network, NetworkCreate, SubnetRequest};
use crate::plan::{Plan, Step};
use ipnet::IpNet;
use std::collections::BTreeMap;

/// Name and bridge of the default network.
pub const DEFAULT_BRIDGE: &str = "berth0";

impl Engine {
    /// `network create`.
    pub fn create_network(&mut self, req: &NetworkCreate) -> Result<Network> {
        require_root()?;
        ids::validate_name("network", &req.name)?;
        let driver = Driver::parse(if req.driver.is_empty() {
            "bridge"
        } else {
            &req.driver
        })?;
        match driver {
            Driver::Macvlan | Driver::Ipvlan => return self.create_sublink_network(req, driver),
            Driver::Overlay => return self.create_overlay_network(req),
            _ => {}
        }
        if driver != Driver::Bridge {
            return Err(Error::invalid(format!(
                "only one instance of the {} network is allowed: use the built-in '{}' network",
                driver.as_str(),
                if driver == Driver::Host {
                    "host"
                } else {
                    "none"
                }
            )));
        }
        let subnets = req.subnet_requests()?;
        self.create_bridge_network(req, &subnets, |_| Ok(()))
    }

    /// Plans, records and builds a bridge network; `adjust` may refine the
    /// planned network before it is recorded (CNI's address ranges).
    pub(crate) fn create_bridge_network(
        &mut self,
        req: &NetworkCreate,
        subnets: &[SubnetRequest],
        adjust: impl FnOnce(&mut Network) -> Result<()>,
    ) -> Result<Network> {
        let _lock = self.lock()?;
        let facts = HostFacts::read(self.applier()?.host())?;
        let id = ids::new_id()?;
        let mut plan = Plan::default();
        let net = self.store.write(|tx| {
            let existing = tx.networks()?;
            ensure_name_free(&existing, &req.name)?;
            let mut net = plan_bridge_network(req, &id, subnets, &existing, &facts, false)?;
            adjust(&mut net)?;
            plan = bridge_plan(&net);
            tx.insert_network(&net)?;
            tx.insert_op("create_network", &net.id, &plan.to_json())?;
            Ok(net)
        })?;
        self.ensure_forwarding(&net)?;
        let applied = self.applier()?.apply("create_network", &plan);
        let forward = applied.and_then(|_| self.allow_forward(&net));
        self.store.write(|tx| {
            if forward.is_err() {
                tx.delete_network(&net.id)?;
            }
            let ops = tx.ops()?;
            for op in ops
                .iter()
                .filter(|o| o.kind == "create_network" && o.subject == net.id)
            {
                tx.delete_op(op.id)?;
            }
            Ok(())
        })?;
        if let Err(e) = forward {
            let _ = self.applier()?.apply_best_effort(&plan.undo());
            return Err(e);
        }
        Ok(net)
    }

    /// Every network.
    pub fn networks(&mut self) -> Result<Vec<Network>> {
        self.store.read(|tx| tx.networks())
    }

    /// A network by name, id or id prefix.
    pub fn network(&mut self, key: &str) -> Result<Network> {
        self.store.read(|tx| tx.network(key))?.ok_or_else(|| {
            Error::not_found(format!("network {key:?} not found: see 'berth network ls'"))
        })
    }

    /// `network rm`.
    pub fn remove_network(&mut self, key: &str) -> Result<Network> {
        require_root()?;
        let _lock = self.lock()?;
        let net = self.network(key)?;
        if let Some(id) = &net.docker {
            return Err(Error::invalid(format!(
                "network {} is Docker's (Docker network {}, made through 'berth docker-plugin'): remove it with 'docker network rm'",
                net.name,
                crate::ids::short(id)
            )));
        }
        if let Some(o) = &net.owner {
            return Err(Error::invalid(format!(
                "network {} is {}'s: berth builds it for {1}'s containers and removes it with the last of them ('{}' forgets it in {1}; 'berth network prune' removes it here once no container uses it); nothing was changed",
                net.name,
                o.program(),
                o.remove_hint(&net.name)
            )));
        }
        self.remove_network_unchecked(net)
    }

    /// `network rm` of `net` once the caller checked who owns it and took
    /// the host lock.
    pub(crate) fn remove_network_unchecked(&mut self, net: Network) -> Result<Network> {
        if net.builtin {
            return Err(Error::invalid(format!(
                "{} is a pre-defined network and cannot be removed: only networks made with 'berth network create' can",
                net.name
            )));
        }
        self.overlay_check_remove(&net)?;
        self.remove_unused_network(&net)?;
        self.overlay_forget(&net)?;
        Ok(net)
    }

    /// Removes `net` if no endpoint is on it (checked in the transaction
    /// that records the removal), under the host lock.
    pub(crate) fn remove_unused_network(&mut self, net: &Network) -> Result<()> {
        let plan = bridge_plan(net).undo();
        let names = self.store.write(|tx| {
            let eps = tx.network_endpoints(&net.id)?;
            if !eps.is_empty() {
                let mut names = Vec::new();
                for e in &eps {
                    names.push(
                        tx.container(&e.container_id)?
                            .map_or(e.container_id.clone(), |c| c.name),
                    );
                }
                return Ok(names);
            }
            tx.insert_op("remove_network", &net.id, &plan.to_json())?;
            Ok(Vec::new())
        })?;
        if !names.is_empty() {
            return Err(Error::conflict(format!(
                "network {} has active endpoints ({}): remove those containers or 'berth network disconnect' them first",
                net.name,
                names.join(", ")
            )));
        }
        self.finish_remove_network(net, &plan)
    }

    /// Tears down a network's kernel state and forgets it (roll forward).
    pub(crate) fn finish_remove_network(&mut self, net: &Network, plan: &Plan) -> Result<()> {
        self.revoke_forward(net)?;
        for e in self.applier()?.apply_forward("remove_network", plan) {
            eprintln!("berth: warning: removing network {}: {e}", net.name);
        }
        self.store.write(|tx| {
            tx.delete_network(&net.id)?;
            for op in tx
                .ops()?
                .iter()
                .filter(|o| o.kind == "remove_network" && o.subject == net.id)
            {
                tx.delete_op(op.id)?;
            }
            Ok(())
        })
    }

    /// `network prune`: removes every user-defined network without
    /// endpoints, Podman's included (the next container Podman starts on
    /// one builds it again).
    pub fn prune_networks(&mut self) -> Result<Vec<String>> {
        let nets = self.networks()?;
        let mut removed = Vec::new();
        for n in nets.iter().filter(|n| !n.builtin && n.docker.is_none()) {
            let busy = self
                .store
                .read(|tx| Ok(!tx.network_endpoints(&n.id)?.is_empty()))?;
            if busy {
                continue;
            }
            if n.owner.is_some() {
                if self.release_owned_network(&n.name)? {
                    removed.push(n.name.clone());
                }
                continue;
            }
            self.remove_network(&n.id)?;
            removed.push(n.name.clone());
        }
        Ok(removed)
    }
}

/// Fails when a network called `name` exists already.
pub(crate) fn ensure_name_free(existing: &[Network], name: &str) -> Result<()> {
    if existing.iter().any(|n| n.name == name) {
        return Err(Error::conflict(format!(
            "network with name {name:?} already exists: choose another name"
        )));
    }
    Ok(())
}

/// The firewall elements of a network.
pub(crate) fn network_rules(net: &Network) -> Option<NetworkRules> {
    net.bridge.as_ref().map(|b| NetworkRules {
        bridge: b.clone(),
        internal: net.internal,
        icc: net.icc,
        masquerade: net.masquerade,
        unisolated: net.reaches_others(),
        subnets: net.ipam.iter().map(|c| c.subnet).collect(),
        dns_gateways: if net.dns_enabled() {
            net.ipam.iter().map(|c| c.gateway).collect()
        } else {
            Vec::new()
        },
    })
}

/// The kernel objects of a bridge network: the bridge with its gateway
/// addresses, its sysctls and its firewall elements.
pub(crate) fn bridge_plan(net: &Network) -> Plan {
    let Some(bridge) = &net.bridge else {
        return Plan {
            steps: crate::drivers::network_steps(net),
        };
    };
    let addrs = net
        .ipam
        .iter()
        .filter_map(|c| IpNet::new(c.gateway, c.subnet.prefix_len()).ok())
        .collect();
    let mut steps = vec![
        Step::CreateBridge {
            name: bridge.clone(),
            mtu: net.mtu,
            addrs,
        },
        // Lets the host's own 127.0.0.1 reach published ports (output DNAT);
        // the guard chain stops containers from using it to reach the host.
        Step::Sysctl {
            key: sysctl::iface_key("ipv4", bridge, "route_localnet"),
            value: "1".into(),
        },
    ];
    // A container's router advertisement must not give the host a default
    // route or an address through the bridge.
    steps.extend(
        sysctl::no_router_advertisements(bridge)
            .into_iter()
            .map(|(key, value)| Step::Sysctl {
                key,
                value: value.into(),
            }),
    );
    steps.extend(crate::drivers::network_steps(net));
    if let Some(rules) = network_rules(net) {
        steps.push(Step::Nft {
            apply: rules.add().text(),
            undo: rules.remove().text(),
        });
    }
    Plan { steps }
}

/// Plans a bridge network from a request (pure): validates options, picks or
/// checks subnets against other networks and the host's routes, names the
/// bridge. `builtin` marks the default `bridge` network.
pub fn plan_bridge_network(
    req: &NetworkCreate,
    id: &str,
    subnets: &[SubnetRequest],
    existing: &[Network],
    facts: &HostFacts,
    builtin: bool,
) -> Result<Network> {
    let opts = req.parsed_options()?;
    let bridge = match opts.get(opt::BRIDGE_NAME) {
        Some(b) => b.clone(),
        None if builtin => DEFAULT_BRIDGE.to_string(),
        None => ids::bridge_name(id),
    };
    ids::validate_ifname(&bridge)?;
    if existing
        .iter()
        .any(|n| n.bridge.as_deref() == Some(bridge.as_str()))
        || facts.links.contains(&bridge)
    {
        return Err(Error::conflict(format!(
            "bridge name {bridge:?} is already in use on this host: choose another with -o {}=NAME",
            opt::BRIDGE_NAME
        )));
    }
    let ipam = plan_ipam(req, id, subnets, existing, facts)?;
    let ipv6 = req.ipv6 || ipam.iter().any(|c| c.subnet.addr().is_ipv6());
    let flag = |k: &str| opts.get(k).map(|v| parse_bool_opt(k, v)).transpose();
    let host_binding_ipv4 = opts
        .get(opt::HOST_BINDING)
        .map(|v| {
            v.parse().map_err(|_| {
                Error::invalid(format!(
                    "invalid value {v:?} for option {}: expected an IP address",
                    opt::HOST_BINDING
                ))
            })
        })
        .transpose()?;
    Ok(Network {
        id: id.to_string(),
        name: req.name.clone(),
        driver: Driver::Bridge,
        created: crate::model::now_rfc3339(),
        ipv6,
        internal: req.internal,
        ipam,
        options: opts.clone(),
        labels: parse_kv(&req.labels, "--label", false)?,
        bridge: Some(bridge),
        mtu: opts
            .get(opt::MTU)
            .map(|m| parse_mtu(m))
            .transpose()?
            .unwrap_or(1500),
        icc: flag(opt::ICC)?.unwrap_or(true),
        masquerade: flag(opt::MASQ)?.unwrap_or(true),
        host_binding_ipv4,
        builtin,
        owner: None,
        docker: None,
    })
}

pub(crate) fn plan_ipam(
    req: &NetworkCreate,
    id: &str,
    subnets: &[SubnetRequest],
    existing: &[Network],
    facts: &HostFacts,
) -> Result<Vec<IpamConfig>> {
    let taken_by_nets: Vec<(IpNet, &str)> = existing
        .iter()
        .flat_map(|n| n.ipam.iter().map(move |c| (c.subnet, n.name.as_str())))
        .collect();
    let check = |net: &IpNet| -> Result<()> {
        if let Some((o, name)) = taken_by_nets.iter().find(|(o, _)| ipam::overlaps(o, net)) {
            return Err(Error::conflict(format!(
                "subnet {net} overlaps {o} of network {name}: choose another --subnet"
            )));
        }
        if let Some(r) = facts.routes.iter().find(|r| ipam::overlaps(r, net)) {
            return Err(Error::conflict(format!(
                "subnet {net} overlaps {r}, which is already routed on this host (a VPN, a LAN or another bridge): choose another --subnet"
            )));
        }
        Ok(())
    };
    let mut out = Vec::new();
    for s in subnets {
        let Some(subnet) = s.subnet else { continue };
        check(&subnet)?;
        let gateway = s.gateway.unwrap_or_else(|| ipam::first_host(&subnet));
        if gateway == subnet.network() || (subnet.addr().is_ipv4() && gateway == subnet.broadcast())
        {
            return Err(Error::invalid(format!(
                "invalid --gateway {gateway}: it is the network or broadcast address of {subnet}"
            )));
        }
        out.push(IpamConfig {
            subnet,
            gateway,
            ip_range: s.ip_range,
            aux: s.aux.clone(),
            range_start: None,
            range_end: None,
        });
    }
    if !out.iter().any(|c| c.subnet.addr().is_ipv4()) {
        let mut taken: Vec<IpNet> = taken_by_nets.iter().map(|(n, _)| *n).collect();
        taken.extend(facts.routes.iter().copied());
        let subnet = ipam::pick_subnet(&taken).ok_or_else(|| {
            Error::conflict("every default address pool (172.17-31.0.0/16, 192.168.0.0/16) is in use or routed: give --subnet")
        })?;
        out.insert(
            0,
            IpamConfig {
                subnet,
                gateway: ipam::first_host(&subnet),
                ip_range: None,
                aux: BTreeMap::new(),
                range_start: None,
                range_end: None,
            },
        );
    }
    if req.ipv6 && !out.iter().any(|c| c.subnet.addr().is_ipv6()) {
        let subnet = ipam::ula_subnet(id);
        check(&subnet)?;
        out.push(IpamConfig {
            subnet,
            gateway: ipam::first_host(&subnet),
            ip_range: None,
            aux: BTreeMap::new(),
            range_start: None,
            range_end: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
