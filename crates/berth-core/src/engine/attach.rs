//! Network connect / disconnect of a container (running or not): a new
//! endpoint and veth appear without a restart, or go, with the published
//! ports and the default route moved to the network that remains.

use super::container::{elements_change, new_endpoint, primary, resolve_networks, veth_step};
use super::run::{Intent, Outcome};
use super::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, Endpoint, Network, NetworkAttach};
use crate::plan::{OpKind, Plan, Step};

impl Engine {
    /// `network connect`: attaches a container (running or not) to a network.
    pub fn connect(&mut self, key: &str, mut attach: NetworkAttach) -> Result<Endpoint> {
        self.require_root()?;
        attach.validate()?;
        let c = self.container(key)?;
        super::cni::refuse(&c, "connect")?;
        let hostname = c.config.hostname.clone();
        let owner = super::overlay::Owner {
            id: &c.id,
            name: &c.name,
            hostname: &hostname,
        };
        let overlay = self.overlay_prepare(&owner, std::slice::from_mut(&mut attach))?;
        let running = self.running(&c);
        let (old_eps, old_nets) = self.container_networks(&c)?;
        let paths = self.paths.clone();
        let ep = self.run_op(
            OpKind::Connect,
            |tx| {
                let (ep, net) = record_connect(tx, &c, &attach, &old_eps, &old_nets)?;
                let plan = if running {
                    connect_plan(&paths, &c, (&old_eps, &old_nets), &ep, &net)
                } else {
                    Plan::default()
                };
                Ok(Intent {
                    subject: ep.id.clone(),
                    plan,
                    value: ep,
                })
            },
            |_, _| Ok(()),
            |tx, ep, outcome| match outcome {
                Outcome::Applied => Ok(()),
                Outcome::RolledBack => forget_endpoint(tx, &ep.id).map(drop),
            },
        )?;
        let c = self.container(&c.id)?;
        // The resolver knows the new endpoint before resolv.conf may name
        // its gateway: it answers only endpoints it knows.
        self.sync_dns_for(&c.id);
        self.write_etc_files(&c)?;
        self.overlay_attached(overlay);
        Ok(ep)
    }

    /// `network disconnect`: detaches a container from a network.
    pub fn disconnect(&mut self, key: &str, network: &str) -> Result<()> {
        self.require_root()?;
        let c = self.container(key)?;
        super::cni::refuse(&c, "disconnect")?;
        let net = self.network(network)?;
        let (eps, nets) = self.container_networks(&c)?;
        let ep = eps
            .iter()
            .find(|e| e.network_id == net.id)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "container {} is not connected to network {}",
                    c.name, net.name
                ))
            })?;
        let mut steps = Vec::new();
        if self.running(&c) {
            let rest: Vec<Endpoint> = eps.iter().filter(|e| e.id != ep.id).cloned().collect();
            steps.extend(elements_change(&c, &eps, &rest, &nets));
            let ns = self.paths.netns(&c.id);
            steps.push(
                nets.iter()
                    .find(|n| n.id == ep.network_id)
                    .map(|n| crate::drivers::leave_step(&ns, &ep, n))
                    .unwrap_or(Step::RetireVeth {
                        name: ep.host_veth.clone(),
                        owner: ep.id.clone(),
                        netns: ns.clone(),
                        keep_peer: true,
                    }),
            );
            steps.extend(new_default_route(
                &self.paths.netns(&c.id),
                &ep,
                &eps,
                &rest,
                &nets,
            ));
        }
        self.run_op(
            OpKind::Disconnect,
            |_| {
                Ok(Intent {
                    subject: ep.id.clone(),
                    plan: Plan { steps },
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, _| forget_endpoint(tx, &ep.id).map(drop),
        )?;
        if let Err(e) = self.sync_dns(&c.id, std::slice::from_ref(&net)) {
            tracing::warn!("embedded DNS: {e}");
        }
        let c = self.container(&c.id)?;
        self.write_etc_files(&c)?;
        if net.driver == crate::model::Driver::Overlay {
            self.overlay_changed(None);
        }
        Ok(())
    }
}

/// Records the endpoint connecting container `c` (with endpoints and
/// networks `old_eps`, `old_nets`) to the network `attach` names, and the
/// attachment in its configuration; returns the endpoint and its network.
fn record_connect(
    tx: &crate::store::Tx,
    c: &Container,
    attach: &NetworkAttach,
    old_eps: &[Endpoint],
    old_nets: &[Network],
) -> Result<(Endpoint, Network)> {
    let mut nets = resolve_networks(tx, std::slice::from_ref(attach))?;
    let net = nets.remove(0);
    if old_nets.iter().any(|n| !n.driver.has_endpoints()) || !net.driver.has_endpoints() {
        return Err(Error::invalid(
            "the host and none networks cannot be combined with other networks",
        ));
    }
    if old_eps.iter().any(|e| e.network_id == net.id) {
        return Err(Error::conflict(format!(
            "container {} is already connected to network {}",
            c.name, net.name
        )));
    }
    let position = old_eps.iter().map(|e| e.position + 1).max().unwrap_or(0);
    let taken: Vec<String> = old_eps.iter().map(|e| e.ifname.clone()).collect();
    let ifname = super::endpoint::ifname_for(&net, attach, &taken)?;
    let ep = new_endpoint(tx, &c.id, &net, attach, position, &ifname)?;
    let mut cfg = c.clone();
    // Recorded by name, so disconnect and recovery find it again.
    cfg.config.networks.push(NetworkAttach {
        network: net.name.clone(),
        ..attach.clone()
    });
    tx.update_container(&cfg)?;
    Ok((ep, net))
}

/// The kernel side of connecting running container `c` (with endpoints
/// and networks `old`) to `net` through endpoint `ep`: its veth, and the
/// change of its set and map elements.
fn connect_plan(
    paths: &crate::paths::Paths,
    c: &Container,
    old: (&[Endpoint], &[Network]),
    ep: &Endpoint,
    net: &Network,
) -> Plan {
    let (old_eps, old_nets) = old;
    let gw = primary(old_eps, old_nets).is_none() && !net.internal;
    let mut steps = vec![veth_step(&paths.netns(&c.id), ep, net, gw)];
    let mut after = old_eps.to_vec();
    after.push(ep.clone());
    let mut all_nets = old_nets.to_vec();
    all_nets.push(net.clone());
    steps.extend(elements_change(c, old_eps, &after, &all_nets));
    Plan { steps }
}

/// Forgets endpoint `ep_id` and its container's attachment to the network
/// (disconnect, and the recovery of a crashed connect or disconnect);
/// returns the container id, if the endpoint was still recorded.
pub(crate) fn forget_endpoint(tx: &crate::store::Tx, ep_id: &str) -> Result<Option<String>> {
    let Some(ep) = tx.endpoint(ep_id)? else {
        return Ok(None);
    };
    let net = tx.network(&ep.network_id)?;
    tx.delete_endpoint(&ep.id)?;
    if let (Some(mut c), Some(net)) = (tx.container(&ep.container_id)?, net) {
        c.config
            .networks
            .retain(|a| a.network != net.name && a.network != net.id);
        tx.update_container(&c)?;
    }
    Ok(Some(ep.container_id))
}

/// When the disconnected endpoint `gone` carried the default route, the
/// step routing it through the next endpoint that reaches the outside.
fn new_default_route(
    ns: &std::path::Path,
    gone: &Endpoint,
    eps: &[Endpoint],
    rest: &[Endpoint],
    nets: &[Network],
) -> Option<Step> {
    if primary(eps, nets).map(|p| &p.id) != Some(&gone.id) {
        return None;
    }
    let next = primary(rest, nets)?;
    let net = nets.iter().find(|n| n.id == next.network_id)?;
    match veth_step(ns, next, net, true) {
        Step::CreateVeth { peer, gateways, .. } => Some(Step::DefaultRoutes {
            netns: ns.to_path_buf(),
            ifname: peer,
            gateways,
        }),
        _ => None,
    }
}
