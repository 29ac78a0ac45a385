//! Network operations: create, remove, list, prune; and the pure planning of
//! a bridge network from a request.

use super::run::{Intent, Outcome};
use super::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::kernel::HostFacts;
use crate::model::network::{opt, parse_bool_opt, parse_kv, parse_mtu};
use crate::model::{Driver, Network, NetworkCreate, SubnetRequest};
use crate::plan::OpKind;

pub(crate) use super::network_ipam::plan_ipam;

pub(crate) use crate::drivers::bridge::network_rules;
pub use crate::drivers::bridge::DEFAULT_BRIDGE;
pub(crate) use crate::drivers::network_plan as bridge_plan;

impl Engine {
    /// `network create`.
    pub fn create_network(&mut self, req: &NetworkCreate) -> Result<Network> {
        self.require_root()?;
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
        let id = ids::new_id()?;
        // Only the bridge's own name is looked up (bad options fail in
        // planning, with the bad value named).
        let bridge = req
            .parsed_options()
            .map(|o| planned_bridge(&o, &id, false))
            .unwrap_or_default();
        let ranges = super::network_ipam::ipam_ranges(req, &id, subnets);
        // The host's IPv6 routes only when an IPv6 subnet is planned (on a
        // host whose bridges carry IPv6, each has a route there too).
        let v6 = ranges.iter().any(|r| r.addr().is_ipv6());
        let facts = self.kernel.host_facts(&[bridge.as_str()], v6)?;
        self.create_network_op(OpKind::CreateNetwork, |tx| {
            if tx.network_name_taken(&req.name)? {
                return Err(name_taken(&req.name));
            }
            // Only the networks it could clash with, found through indexes
            // (not every network record: issue 13, goal 3).
            let near = tx.networks_near(&ranges, Some(bridge.as_str()))?;
            let mut net = plan_bridge_network(req, &id, subnets, &near, &facts, false)?;
            adjust(&mut net)?;
            Ok(net)
        })
    }

    /// Runs the creation of a network (`kind`: a network of this host, or
    /// an overlay network realised here): `record` plans it, it is
    /// recorded with its plan and built; for a network with a bridge,
    /// forwarding is turned on (guarded) and opened where another tool's
    /// chain would drop it.
    pub(crate) fn create_network_op(
        &mut self,
        kind: OpKind,
        record: impl FnOnce(&crate::store::Tx) -> Result<Network>,
    ) -> Result<Network> {
        self.run_op(
            kind,
            |tx| {
                let net = record(tx)?;
                tx.insert_network(&net)?;
                Ok(Intent {
                    subject: net.id.clone(),
                    plan: bridge_plan(&net),
                    value: net,
                })
            },
            |engine, net| {
                if net.bridge.is_none() {
                    return Ok(());
                }
                engine.ensure_forwarding(net)?;
                engine.allow_forward(net)
            },
            |tx, net, outcome| match outcome {
                Outcome::Applied => Ok(()),
                Outcome::RolledBack => tx.delete_network(&net.id),
            },
        )
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
        self.require_root()?;
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
    /// that records the removal); the caller holds the host lock.
    pub(crate) fn remove_unused_network(&mut self, net: &Network) -> Result<()> {
        self.remove_network_op(OpKind::RemoveNetwork, net)
    }

    /// Runs the removal of network `net` (`kind`: a network of this host,
    /// or an overlay network removed from the cluster): refused while it
    /// has endpoints; its kernel objects and the accept rules made for it
    /// go, then its record.
    pub(crate) fn remove_network_op(&mut self, kind: OpKind, net: &Network) -> Result<()> {
        self.run_op(
            kind,
            |tx| {
                refuse_endpoints(tx, net)?;
                Ok(Intent {
                    subject: net.id.clone(),
                    plan: bridge_plan(net).undo(),
                    value: (),
                })
            },
            |engine, _| engine.revoke_forward(net),
            |tx, _, _| tx.delete_network(&net.id),
        )
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

/// Fails when network `net` has endpoints, naming their containers.
fn refuse_endpoints(tx: &crate::store::Tx, net: &Network) -> Result<()> {
    let eps = tx.network_endpoints(&net.id)?;
    if eps.is_empty() {
        return Ok(());
    }
    let mut names = Vec::new();
    for e in &eps {
        names.push(
            tx.container(&e.container_id)?
                .map_or(e.container_id.clone(), |c| c.name),
        );
    }
    Err(Error::conflict(format!(
        "network {} has active endpoints ({}): remove those containers or 'berth network disconnect' them first",
        net.name,
        names.join(", ")
    )))
}

/// Fails when a network called `name` exists already.
pub(crate) fn ensure_name_free(existing: &[Network], name: &str) -> Result<()> {
    if existing.iter().any(|n| n.name == name) {
        return Err(name_taken(name));
    }
    Ok(())
}

/// The error for a network name that is taken.
fn name_taken(name: &str) -> Error {
    Error::conflict(format!(
        "network with name {name:?} already exists: choose another name"
    ))
}

/// The name of the bridge of network `id` with options `opts` (pure): the
/// one the options name, else the default bridge's (`builtin`) or one
/// derived from the id.
pub(crate) fn planned_bridge(
    opts: &std::collections::BTreeMap<String, String>,
    id: &str,
    builtin: bool,
) -> String {
    match opts.get(opt::BRIDGE_NAME) {
        Some(b) => b.clone(),
        None if builtin => DEFAULT_BRIDGE.to_string(),
        None => ids::bridge_name(id),
    }
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
    let bridge = planned_bridge(&opts, id, builtin);
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

#[cfg(test)]
mod tests;
