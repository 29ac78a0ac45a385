//! Creating containers: records, endpoints, published ports and the plan of
//! their kernel objects (namespace, veths, map elements).

pub(crate) use super::container_plan::{
    elements, elements_change, network_plan, ports_step, primary, unports_step, veth_step,
};
pub(crate) use super::endpoint::new_endpoint;
use super::run::{Intent, Outcome};
use super::{ports, Engine};
use crate::error::{Error, Result};
use crate::ids;
use crate::model::{
    Container, ContainerConfig, ContainerState, Driver, Endpoint, Network, NetworkAttach,
};
use crate::plan::OpKind;
use crate::store::Tx;
use std::path::PathBuf;

/// What a front-end needs to start a container's process.
#[derive(Debug, Clone)]
pub struct StartSpec {
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// Its network namespace pin, `None` for `--network host`.
    pub netns: Option<PathBuf>,
    /// Directory holding `hosts`, `hostname` and `resolv.conf`.
    pub etc_dir: PathBuf,
    /// The stored configuration.
    pub config: ContainerConfig,
    /// berth's own directories (state root, runtime dir), hidden from a
    /// container that sees the host's files.
    pub hidden: Vec<PathBuf>,
}

/// A container just created, and what its front-end should warn about.
#[derive(Debug, Clone)]
pub struct Created {
    /// The container.
    pub container: Container,
    /// Warnings for the user, as Docker words them (published ports
    /// discarded with `--network host`).
    pub warnings: Vec<String>,
}

/// Docker's warning when `-p` comes with `--network host`.
const HOST_PORTS: &str = "Published ports are discarded when using host network mode";

const ADJECTIVES: [&str; 16] = [
    "brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nifty", "proud", "quiet", "sharp", "vivid", "wise",
];
const NOUNS: [&str; 16] = [
    "hopper", "lovelace", "turing", "noether", "curie", "dijkstra", "knuth", "ritchie", "thompson",
    "hamilton", "babbage", "shannon", "torvalds", "perlman", "cerf", "kahn",
];

fn generated_name(id: &str) -> String {
    let b = |i: usize| usize::from_str_radix(&id[i..i + 2], 16).unwrap_or(0);
    format!(
        "{}_{}_{}",
        ADJECTIVES[b(0) % 16],
        NOUNS[b(2) % 16],
        &id[4..8]
    )
}

impl Engine {
    /// Records a new container with its endpoints and ports and builds its
    /// network (namespace, interfaces, published ports). The process is
    /// started by the front-end with [`Engine::start_spec`].
    pub fn create_container(
        &mut self,
        name: Option<&str>,
        config: ContainerConfig,
    ) -> Result<Created> {
        self.create_container_as(ids::new_id()?, name, config)
    }

    /// [`Engine::create_container`] under `id`, made by [`ids::new_id`]
    /// beforehand: `run -d` names its supervisor before the container
    /// exists.
    pub fn create_container_as(
        &mut self,
        id: String,
        name: Option<&str>,
        mut config: ContainerConfig,
    ) -> Result<Created> {
        if id.len() != 64 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::invalid(format!(
                "bad container id {id:?}: 64 lowercase hex digits expected"
            )));
        }
        self.require_root()?;
        if let Some(n) = name {
            ids::validate_name("container", n)?;
        }
        config.validate()?;
        if let Some(key) = config.net_container.clone() {
            let other = self.joined_container(&key)?;
            config.net_container = Some(other.id.clone());
            config.hostname = other.config.hostname.clone();
        }
        let name = name.map_or_else(|| generated_name(&id), String::from);
        if config.hostname.is_empty() {
            config.hostname = ids::short(&id).to_string();
        }
        if config.networks.is_empty() && config.net_container.is_none() {
            config.networks.push(NetworkAttach {
                network: "bridge".into(),
                ..Default::default()
            });
        }
        let hostname = config.hostname.clone();
        let owner = super::overlay::Owner {
            id: &id,
            name: &name,
            hostname: &hostname,
        };
        let mut clock = super::cni::Clock::of("run", self.config.trace_steps);
        let overlay = self.overlay_prepare(&owner, &mut config.networks)?;
        clock.lap("overlay reservation");
        // `-p`, and with `-P` an ephemeral host port per exposed port.
        let specs = config.port_specs();
        let listeners = self.host_listeners(&specs);
        let paths = self.paths.clone();
        let created = self.run_op(
            OpKind::CreateContainer,
            |tx| {
                let (c, eps, nets) = record_container(tx, &id, &name, &config, &listeners)?;
                let mut warnings = Vec::new();
                if !specs.is_empty() && nets.iter().any(|n| n.driver == Driver::Host) {
                    warnings.push(HOST_PORTS.to_string());
                }
                Ok(Intent {
                    subject: c.id.clone(),
                    plan: network_plan(&paths, &c, &eps, &nets),
                    value: (c, warnings),
                })
            },
            |engine, (c, _)| engine.write_etc_files(c),
            |tx, (c, _), outcome| match outcome {
                Outcome::Applied => Ok(()),
                Outcome::RolledBack => tx.delete_container(&c.id),
            },
        );
        let (container, warnings) = match created {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(self.paths.container_dir(&id));
                return Err(e);
            }
        };
        clock.lap("record and attach");
        self.sync_dns_for(&container.id);
        clock.lap("embedded DNS");
        self.overlay_attached(overlay);
        clock.lap("overlay after attach");
        Ok(Created {
            container,
            warnings,
        })
    }

    /// A container by name, id or id prefix.
    pub fn container(&mut self, key: &str) -> Result<Container> {
        self.store.read(|tx| tx.container(key))?.ok_or_else(|| {
            Error::not_found(format!("no such container: {key} (see 'berth ps -a')"))
        })
    }

    /// Every container.
    pub fn containers(&mut self) -> Result<Vec<Container>> {
        self.store.read(|tx| tx.containers())
    }

    /// Endpoints of a container, in attachment order.
    pub fn endpoints(&mut self, cid: &str) -> Result<Vec<Endpoint>> {
        self.store.read(|tx| tx.container_endpoints(cid))
    }

    /// The running container whose network namespace `--network
    /// container:KEY` joins (the one it joins in turn, if it joined one).
    fn joined_container(&mut self, key: &str) -> Result<Container> {
        let mut other = self.container(key)?;
        if let Some(root) = other.config.net_container.clone() {
            other = self.container(&root)?;
        }
        if !self.running(&other) {
            return Err(Error::conflict(format!(
                "cannot join the network of a non-running container: {} (start it first)",
                other.name
            )));
        }
        Ok(other)
    }

    /// What the front-end needs to start the container's process.
    pub fn start_spec(&mut self, c: &Container) -> Result<StartSpec> {
        if let Some(key) = &c.config.net_container {
            // The namespace and the /etc files of the container it joins.
            let other = self.joined_container(key)?;
            let mut spec = self.start_spec(&other)?;
            spec.id = c.id.clone();
            spec.name = c.name.clone();
            spec.config = c.config.clone();
            return Ok(spec);
        }
        let host = self.store.read(|tx| {
            let first = c
                .config
                .networks
                .first()
                .map(|a| a.network.clone())
                .unwrap_or_default();
            Ok(tx
                .network(&first)?
                .is_some_and(|n| n.driver == Driver::Host))
        })?;
        Ok(StartSpec {
            id: c.id.clone(),
            name: c.name.clone(),
            netns: (!host).then(|| self.paths.netns(&c.id)),
            etc_dir: self.paths.container_dir(&c.id),
            config: c.config.clone(),
            hidden: vec![self.paths.state.clone(), self.paths.run.clone()],
        })
    }
}

/// Records a new container `id` called `name` with `config`: its row, one
/// endpoint per network (with its addresses) and its host ports; returns
/// it with its endpoints and networks.
fn record_container(
    tx: &Tx,
    id: &str,
    name: &str,
    config: &ContainerConfig,
    listeners: &[crate::kernel::facts::Listener],
) -> Result<(Container, Vec<Endpoint>, Vec<Network>)> {
    let nets = resolve_networks(tx, &config.networks)?;
    let mut c = Container {
        id: id.to_string(),
        name: name.to_string(),
        created: crate::model::now_rfc3339(),
        config: config.clone(),
        state: ContainerState::Created,
        pid: None,
        pid_start: None,
        supervisor_pid: None,
        exit_code: None,
        started_at: None,
        finished_at: None,
        ports: Vec::new(),
        cni: None,
    };
    tx.insert_container(&c)?;
    let mut eps: Vec<Endpoint> = Vec::new();
    for (i, (net, attach)) in nets.iter().zip(&config.networks).enumerate() {
        if net.driver.has_endpoints() {
            let taken: Vec<String> = eps.iter().map(|e| e.ifname.clone()).collect();
            let ifname = super::endpoint::ifname_for(net, attach, &taken)?;
            eps.push(new_endpoint(tx, id, net, attach, i as u32, &ifname)?);
        }
    }
    c.ports = reserve_ports(tx, &c, &nets, &eps, listeners)?;
    tx.update_container(&c)?;
    Ok((c, eps, nets))
}

impl Engine {
    /// Sockets already bound on the host that may clash with `publish`:
    /// explicit host ports are probed by binding them (O(1) each); only
    /// ephemeral ports need the whole table from /proc/net (~15 ms on a big
    /// host).
    fn host_listeners(
        &mut self,
        publish: &[crate::model::PortSpec],
    ) -> Vec<crate::kernel::facts::Listener> {
        if publish.is_empty() {
            return Vec::new();
        }
        if publish.iter().any(|p| {
            p.host_ports
                .is_none_or(|(lo, hi)| hi - lo != p.container_ports.1 - p.container_ports.0)
        }) {
            return self.kernel.listeners(None);
        }
        let wanted: Vec<_> = publish
            .iter()
            .flat_map(|p| {
                let (lo, hi) = p.host_ports.unwrap_or_default();
                (lo..=hi).map(move |port| (p.proto, p.host_ip, port))
            })
            .collect();
        self.kernel.listeners(Some(&wanted))
    }
}

/// Looks up the requested networks and checks Docker's combination rules.
pub(crate) fn resolve_networks(tx: &Tx, attaches: &[NetworkAttach]) -> Result<Vec<Network>> {
    let mut nets = Vec::new();
    for a in attaches {
        let n = tx
            .network(&a.network)?
            .ok_or_else(|| Error::not_found(format!("network {:?} not found: create it with 'berth network create {0}' or see 'berth network ls'", a.network)))?;
        if nets.iter().any(|m: &Network| m.id == n.id) {
            return Err(Error::invalid(format!("network {} is given twice", n.name)));
        }
        // Endpoints on a network whose creation or removal is under way
        // would be left on a bridge that a rollback or removal deletes.
        match tx.network_op(&n.id)? {
            Some(OpKind::RemoveNetwork | OpKind::OverlayDetach) => {
                return Err(Error::not_found(format!(
                    "network {} is being removed: create it again or choose another network",
                    n.name
                )))
            }
            Some(_) => {
                return Err(Error::conflict(format!(
                    "network {} is still being created: try again once 'berth network create' has finished",
                    n.name
                )))
            }
            None => {}
        }
        if let Some(o) = &n.owner {
            return Err(Error::invalid(format!(
                "network {} is {}'s ({1} allocates its addresses): berth attaches only {1}'s containers to it; use a network made with 'berth network create'",
                n.name,
                o.program()
            )));
        }
        if (a.ip.is_some() || a.ip6.is_some()) && n.builtin {
            return Err(Error::invalid(format!(
                "--ip/--ip6 work on user-defined networks only, not on {}: create a network with --subnet",
                n.name
            )));
        }
        nets.push(n);
    }
    if nets.len() > 1 && nets.iter().any(|n| !n.driver.has_endpoints()) {
        return Err(Error::invalid(
            "the host and none networks cannot be combined with other networks",
        ));
    }
    Ok(nets)
}

fn reserve_ports(
    tx: &Tx,
    c: &Container,
    nets: &[Network],
    eps: &[Endpoint],
    listeners: &[crate::kernel::facts::Listener],
) -> Result<Vec<crate::model::PortBinding>> {
    let specs = c.config.port_specs();
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    crate::drivers::check_publish(nets)?;
    let Some(p) = primary(eps, nets) else {
        if nets.iter().any(|n| n.driver == Driver::Host) {
            // Docker's warning: see `Created::warnings`.
            return Ok(Vec::new());
        }
        let names: Vec<&str> = nets.iter().map(|n| n.name.as_str()).collect();
        return Err(Error::invalid(format!(
            "cannot publish ports on network {}: it does not reach the outside (none or --internal); use a bridge network or drop -p",
            names.join(", ")
        )));
    };
    let net = nets.iter().find(|n| n.id == p.network_id);
    for spec in &specs {
        // [::1], and an IPv6 host address to a container without IPv6:
        // the supervisor's userland forwarder (TCP), as Docker's proxy.
        if let Some(ip) = spec.host_ip {
            let userland = ip.is_ipv6() && (ip.is_loopback() || p.ipv6.is_none());
            if userland && spec.proto != crate::model::Proto::Tcp {
                return Err(Error::invalid(format!(
                    "cannot publish {}/{} on {ip}: the kernel cannot forward it (IPv6 loopback, or an IPv6 address to a container without one) and berth's userland forwarder is TCP only; publish on 127.0.0.1 or an IPv4 address",
                    spec.container_ports.0,
                    spec.proto.as_str()
                )));
            }
        }
    }
    ports::reserve(
        tx,
        &c.id,
        &specs,
        net.and_then(|n| n.host_binding_ipv4),
        listeners,
    )
}
