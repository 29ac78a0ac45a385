//! CNI ADD: record the attachment (container, endpoint, host ports and the
//! plan, in one transaction), then build it (veth into the runtime's
//! namespace, addresses and routes, map elements, limits), then commit.

use super::{CniAdded, CniFailure, CniResult};
use crate::engine::container::{new_endpoint, ports_step, veth_step};
use crate::engine::run::{Intent, Outcome};
use crate::engine::{ports, Engine};
use crate::error::{Error, Result};
use crate::ids;
use crate::ipam;
use crate::model::cni::{CniAdd, CniAddresses, CniAttachment};
use crate::model::{Container, ContainerConfig, ContainerState, Endpoint, Network, NetworkAttach};
use crate::plan::{OpKind, Plan, Step};
use crate::store::Tx;
use ipnet::IpNet;
use std::net::IpAddr;

impl Engine {
    /// CNI ADD: attaches the runtime's namespace to the network, creating
    /// the network first if it does not exist. Returns when the container
    /// can send and receive and its ports forward; on failure nothing is
    /// left behind.
    pub fn cni_add(&mut self, req: &CniAdd) -> CniResult<CniAdded> {
        self.require_root()?;
        validate(req)?;
        let a = &req.attachment;
        let _lock = super::AttachmentLock::take(&self.paths, &a.container_id, &a.ifname)?;
        self.cni_add_locked(req)
    }

    /// [`Engine::cni_add`] under the attachment's lock.
    fn cni_add_locked(&mut self, req: &CniAdd) -> CniResult<CniAdded> {
        self.check_netns(&req.attachment.netns)?;
        let id = ids::new_id()?;
        let Some((addresses, prepared)) = self.cni_overlay_reserve(req, &id)? else {
            return self.cni_add_recorded(req, &id);
        };
        // An overlay network: the address reserved cluster-wide is the one
        // to take, already the published record (see
        // `Engine::overlay_attached`); released at once on failure.
        let req = CniAdd {
            addresses,
            ..req.clone()
        };
        let added = self.cni_add_recorded(&req, &id);
        match &added {
            Ok(_) => self.overlay_attached(prepared),
            Err(_) => self.overlay_changed(Some(id.as_str())),
        }
        added
    }

    /// Records and builds the attachment as container `id`.
    fn cni_add_recorded(&mut self, req: &CniAdd, id: &str) -> CniResult<CniAdded> {
        let mut clock = super::Clock::new(self.config.trace_steps);
        let mut net = self.cni_network(&req.network, &req.addresses)?;
        if self.network_busy(&net)? {
            // Another berth is creating (or removing) it, holding the host
            // lock: wait for it to finish, then look again.
            drop(self.lock()?);
            net = self.cni_network(&req.network, &req.addresses)?;
            if self.network_busy(&net)? {
                return Err(CniFailure::TryAgain(format!(
                    "network {} is being created or removed: try again",
                    net.name
                )));
            }
        }
        clock.lap("network");
        let wanted: Vec<_> = req
            .ports
            .iter()
            .filter_map(|p| Some((p.proto, p.host_ip, p.host_ports?.0)))
            .collect();
        let listeners = self.kernel.listeners(Some(&wanted));
        clock.lap("listeners");
        let mut routes = Vec::new();
        let recorded = self.run_op(
            OpKind::CniAdd,
            |tx| {
                let (c, ep) = record(tx, req, id, &net, &listeners)?;
                let plan;
                (plan, routes) = attach_plan(req, &c, &ep, &net);
                clock.lap("record");
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (c, ep),
                })
            },
            |_, _| Ok(()),
            |tx, (c, _), outcome| match outcome {
                Outcome::Applied => Ok(()),
                Outcome::RolledBack => tx.delete_container(&c.id),
            },
        );
        let (c, ep) = recorded.map_err(|e| interface_taken(e, req))?;
        clock.lap("apply, commit");
        Ok(CniAdded {
            bridge_mac: net.bridge.as_deref().and_then(|b| self.kernel.link_mac(b)),
            host_mac: self.kernel.link_mac(&ep.host_veth),
            network: net,
            container: c,
            endpoint: ep,
            routes,
        })
    }
}

impl Engine {
    /// True while an operation creating or removing `net` is recorded.
    fn network_busy(&mut self, net: &Network) -> Result<bool> {
        self.store.read(|tx| Ok(tx.network_op(&net.id)?.is_some()))
    }
}

/// Checks what the runtime gave that reaches the kernel, the store and the
/// DNS: the interface name and the aliases (the CNI crate checked the
/// environment already; this covers every front-end of the engine).
fn validate(req: &CniAdd) -> Result<()> {
    crate::ids::validate_ifname(&req.attachment.ifname)?;
    req.aliases
        .iter()
        .try_for_each(|a| crate::model::validate::alias("alias", a))
}

/// A veth that cannot be created because the runtime's namespace already
/// has an interface of that name is a conflict, not a kernel failure.
fn interface_taken(e: Error, req: &CniAdd) -> CniFailure {
    let a = &req.attachment;
    if e.message().contains("File exists") {
        return Error::conflict(format!(
            "an interface named {} already exists in {}: DEL the previous attachment or choose another CNI_IFNAME; nothing was changed",
            a.ifname,
            a.netns.display()
        ))
        .into();
    }
    e.into()
}

/// Records the container, its endpoint and its host ports.
fn record(
    tx: &Tx,
    req: &CniAdd,
    id: &str,
    net: &Network,
    listeners: &[crate::kernel::facts::Listener],
) -> Result<(Container, Endpoint)> {
    let a = &req.attachment;
    if tx.network_op(&net.id)?.is_some() {
        return Err(Error::conflict(format!(
            "network {} is being created or removed: try again",
            net.name
        )));
    }
    let name = a.record_name();
    if tx.container(&name)?.is_some_and(|c| c.name == name) {
        return Err(Error::conflict(format!(
            "container {} is already attached to network {} as {}: DEL it first",
            a.container_id, a.network, a.ifname
        )));
    }
    let attach = network_attach(tx, req, net)?;
    let wanted = unpublished(tx, req)?;
    let now = crate::model::now_rfc3339();
    let mut c = Container {
        id: id.to_string(),
        name,
        created: now.clone(),
        config: ContainerConfig {
            networks: vec![attach.clone()],
            publish: wanted.clone(),
            ..Default::default()
        },
        state: ContainerState::Running,
        pid: None,
        pid_start: None,
        supervisor_pid: None,
        exit_code: None,
        started_at: Some(now),
        finished_at: None,
        ports: Vec::new(),
        cni: Some(CniAttachment {
            shaping: req.shaping,
            ..a.clone()
        }),
    };
    tx.insert_container(&c)?;
    let ep = new_endpoint(tx, &c.id, net, &attach, 0, &a.ifname)?;
    if !wanted.is_empty() {
        if net.internal {
            return Err(Error::invalid(format!(
                "cannot publish ports on network {}: it is internal (no traffic in or out)",
                net.name
            )));
        }
        c.ports = ports::reserve(tx, &c.id, &wanted, net.host_binding_ipv4, listeners)?;
        tx.update_container(&c)?;
    }
    Ok((c, ep))
}

/// The requested ports but those another attachment of the same container
/// (same container id and namespace) publishes already: a runtime that
/// attaches a second network passes them again (Podman's `network
/// connect`), and they stay where they are.
fn unpublished(tx: &Tx, req: &CniAdd) -> Result<Vec<crate::model::PortSpec>> {
    let a = &req.attachment;
    let mut out = Vec::new();
    for p in &req.ports {
        let mut sibling = false;
        if let Some((first, _)) = p.host_ports {
            for (_, owner) in tx.port_owners(p.proto, first)? {
                let c = tx.container(&owner)?;
                sibling |= c.and_then(|c| c.cni).is_some_and(|o| {
                    o.container_id == a.container_id && o.netns == a.netns && o.network != a.network
                });
            }
        }
        if !sibling {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The endpoint request: the requested or given addresses (checked here,
/// with CNI's words), MAC and aliases.
fn network_attach(tx: &Tx, req: &CniAdd, net: &Network) -> Result<NetworkAttach> {
    let (wanted, given): (Vec<IpAddr>, bool) = match &req.addresses {
        CniAddresses::Allocate(ips) => (ips.clone(), false),
        CniAddresses::Given(nets) => (nets.iter().map(|(n, _)| n.addr()).collect(), true),
    };
    let mut attach = NetworkAttach {
        network: net.name.clone(),
        aliases: req.aliases.clone(),
        mac: req.mac.clone(),
        ..Default::default()
    };
    for ip in wanted {
        let subnets: Vec<String> = net.ipam.iter().map(|c| c.subnet.to_string()).collect();
        let cfg = net
            .ipam
            .iter()
            .find(|c| c.subnet.contains(&ip))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "address {ip} is not in network {}'s subnets ({}); nothing was changed",
                    net.name,
                    subnets.join(", ")
                ))
            })?;
        if given {
            check_prefix(req, ip, cfg.subnet)?;
        }
        if !ipam::assignable(cfg, &ip) {
            return Err(Error::invalid(format!(
                "address {ip} cannot be given to a container: it is the network, broadcast, gateway or a reserved address of {}",
                cfg.subnet
            )));
        }
        if tx.addr_in_use(&net.id, &ip)? {
            return Err(Error::conflict(format!(
                "address {ip} is already in use on network {}; nothing was changed",
                net.name
            )));
        }
        match ip {
            IpAddr::V4(v4) if attach.ip.is_none() => attach.ip = Some(v4),
            IpAddr::V6(v6) if attach.ip6.is_none() => attach.ip6 = Some(v6),
            _ => {
                return Err(Error::invalid(format!(
                "more than one IPv{} address requested ({ip}): berth gives one address per family",
                if ip.is_ipv4() { 4 } else { 6 }
            )))
            }
        }
    }
    Ok(attach)
}

/// An address from a previous plugin must have its subnet's prefix.
fn check_prefix(req: &CniAdd, ip: IpAddr, subnet: IpNet) -> Result<()> {
    let CniAddresses::Given(nets) = &req.addresses else {
        return Ok(());
    };
    match nets.iter().find(|(n, _)| n.addr() == ip) {
        Some((n, _)) if n.prefix_len() != subnet.prefix_len() => Err(Error::invalid(format!(
            "prevResult address {n} does not match the network's subnet {subnet}"
        ))),
        _ => Ok(()),
    }
}

/// The plan of an attachment, and the routes it makes in the container.
fn attach_plan(
    req: &CniAdd,
    c: &Container,
    ep: &Endpoint,
    net: &Network,
) -> (Plan, Vec<(IpNet, IpAddr)>) {
    let ns = &req.attachment.netns;
    let routes = resolved_routes(req, ep, net);
    // Default routes replace the namespace's with the veth, unless they
    // go beside them (a metric: Podman's), with the other routes.
    let beside = req.default_route_metric.is_some();
    let (defaults, others): (Vec<_>, Vec<_>) = routes
        .iter()
        .partition(|(dst, _)| dst.prefix_len() == 0 && !beside);
    let mut veth = veth_step(ns, ep, net, false);
    if let Step::CreateVeth { gateways, .. } = &mut veth {
        *gateways = defaults.iter().map(|(_, gw)| *gw).collect();
    }
    let mut steps = Vec::new();
    if req.loopback {
        steps.push(Step::LoopbackUp { netns: ns.clone() });
    }
    steps.push(veth);
    if !others.is_empty() {
        steps.push(Step::Routes {
            netns: ns.clone(),
            ifname: ep.ifname.clone(),
            routes: others,
            metric: req.default_route_metric,
        });
    }
    steps.extend(ports_step(
        c,
        std::slice::from_ref(ep),
        std::slice::from_ref(net),
    ));
    if let Some(shaping) = req.shaping {
        steps.push(Step::Shape {
            host: ep.host_veth.clone(),
            shaping,
        });
    }
    (Plan { steps }, routes)
}

/// The requested routes with their next hops: the network's gateway of the
/// route's family where none is given; routes of a family the container
/// has no address of are dropped, and internal networks get none.
fn resolved_routes(req: &CniAdd, ep: &Endpoint, net: &Network) -> Vec<(IpNet, IpAddr)> {
    if net.internal {
        return Vec::new();
    }
    let mut out: Vec<(IpNet, IpAddr)> = Vec::new();
    for r in &req.routes {
        let v6 = r.dst.addr().is_ipv6();
        let has = if v6 {
            ep.ipv6.is_some()
        } else {
            ep.ipv4.is_some()
        };
        let gw = r.gw.or_else(|| {
            net.ipam
                .iter()
                .find(|c| c.subnet.addr().is_ipv6() == v6)
                .map(|c| c.gateway)
        });
        if let (true, Some(gw)) = (has, gw) {
            if !out.iter().any(|(d, _)| *d == r.dst) {
                out.push((r.dst, gw));
            }
        }
    }
    out
}
