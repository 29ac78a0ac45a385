//! Creating containers: records, endpoints, published ports and the plan of
//! their kernel objects (namespace, veths, map elements).

pub(crate) use super::container_plan::{
    elements, elements_change, network_plan, ports_step, veth_step,
};
use super::{ports, require_root, Engine};
use crate::error::{Error, Result};
use crate::ids;
use crate::ipam;
use crate::model::{
    Container, ContainerConfig, ContainerState, Driver, Endpoint, Network, NetworkAttach,
};
use crate::plan::Plan;
use crate::store::Tx;
use ipnet::IpNet;
use std::net::IpAddr;
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
        mut config: ContainerConfig,
    ) -> Result<Container> {
        require_root()?;
        if let Some(n) = name {
            ids::validate_name("container", n)?;
        }
        config.validate()?;
        let id = ids::new_id()?;
        let name = name.map_or_else(|| generated_name(&id), String::from);
        if config.hostname.is_empty() {
            config.hostname = ids::short(&id).to_string();
        }
        if config.networks.is_empty() {
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
        let overlay = self.overlay_prepare(&owner, &mut config.networks)?;
        let listeners = host_listeners(&config.publish);
        let mut plan = Plan::default();
        let container = self.store.write(|tx| {
            let nets = resolve_networks(tx, &config.networks)?;
            let c = Container {
                id: id.clone(),
                name: name.clone(),
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
            let mut eps = Vec::new();
            for (i, (net, attach)) in nets.iter().zip(&config.networks).enumerate() {
                if net.driver.has_endpoints() {
                    eps.push(new_endpoint(
                        tx,
                        &id,
                        net,
                        attach,
                        i as u32,
                        &format!("eth{i}"),
                    )?);
                }
            }
            let mut c = c;
            c.ports = reserve_ports(tx, &c, &nets, &eps, &listeners)?;
            tx.update_container(&c)?;
            plan = network_plan(&self.paths, &c, &eps, &nets);
            tx.insert_op("create", &id, &plan.to_json())?;
            Ok(c)
        })?;
        if let Err(e) = self.build_container(&container, &plan) {
            self.store.write(|tx| {
                tx.delete_container(&container.id)?;
                delete_ops(tx, "create", &container.id)
            })?;
            let _ = std::fs::remove_dir_all(self.paths.container_dir(&container.id));
            return Err(e);
        }
        self.store
            .write(|tx| delete_ops(tx, "create", &container.id))?;
        self.sync_dns_for(&container.id);
        if overlay {
            self.overlay_changed(None);
        }
        Ok(container)
    }

    /// Applies a container's network plan and writes its /etc files.
    fn build_container(&mut self, c: &Container, plan: &Plan) -> Result<()> {
        self.applier()?.apply("create", plan)?;
        if let Err(e) = self.write_etc_files(c) {
            let _ = self.applier()?.apply_best_effort(&plan.undo());
            return Err(e);
        }
        Ok(())
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

    /// What the front-end needs to start the container's process.
    pub fn start_spec(&mut self, c: &Container) -> Result<StartSpec> {
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

/// Sockets already bound on the host that may clash with `publish`: explicit
/// host ports are probed by binding them (O(1) each); only ephemeral ports
/// need the whole table from /proc/net (~15 ms on a big host).
fn host_listeners(publish: &[crate::model::PortSpec]) -> Vec<crate::kernel::facts::Listener> {
    if publish.is_empty() {
        return Vec::new();
    }
    if publish.iter().any(|p| {
        p.host_ports
            .is_none_or(|(lo, hi)| hi - lo != p.container_ports.1 - p.container_ports.0)
    }) {
        return crate::kernel::facts::listeners();
    }
    let wanted: Vec<_> = publish
        .iter()
        .flat_map(|p| {
            let (lo, hi) = p.host_ports.unwrap_or_default();
            (lo..=hi).map(move |port| (p.proto, p.host_ip, port))
        })
        .collect();
    crate::kernel::facts::bound_ports(&wanted)
}

/// Removes the recorded ops of `kind` about `subject`.
pub(crate) fn delete_ops(tx: &Tx, kind: &str, subject: &str) -> Result<()> {
    for op in tx
        .ops()?
        .iter()
        .filter(|o| o.kind == kind && o.subject == subject)
    {
        tx.delete_op(op.id)?;
    }
    Ok(())
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
        if tx.has_op("remove_network", &n.id)? {
            return Err(Error::not_found(format!(
                "network {} is being removed: create it again or choose another network",
                n.name
            )));
        }
        if tx.has_op("create_network", &n.id)? {
            return Err(Error::conflict(format!(
                "network {} is still being created: try again once 'berth network create' has finished",
                n.name
            )));
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

/// Allocates one endpoint on a bridge network (inside the transaction).
pub(crate) fn new_endpoint(
    tx: &Tx,
    cid: &str,
    net: &Network,
    a: &NetworkAttach,
    position: u32,
    ifname: &str,
) -> Result<Endpoint> {
    let id = super::veth_names::endpoint_id(tx)?;
    let addr = |v6: bool, want: Option<IpAddr>| -> Result<Option<IpNet>> {
        let Some(cfg) = net.ipam.iter().find(|c| c.subnet.addr().is_ipv6() == v6) else {
            return match want {
                Some(w) => Err(Error::invalid(format!(
                    "network {} has no {} subnet for address {w}",
                    net.name,
                    if v6 { "IPv6" } else { "IPv4" }
                ))),
                None => Ok(None),
            };
        };
        let ip = match want {
            Some(w) => {
                if !ipam::assignable(cfg, &w) {
                    return Err(Error::invalid(format!(
                        "address {w} cannot be assigned on network {}: it must be inside {} and not its gateway, network, broadcast or an aux address",
                        net.name, cfg.subnet
                    )));
                }
                if tx.addr_in_use(&net.id, &w)? {
                    return Err(Error::conflict(format!(
                        "address {w} is already in use on network {}: choose another --ip",
                        net.name
                    )));
                }
                w
            }
            None => {
                let key = format!("cursor:{}:{}", net.id, if v6 { 6 } else { 4 });
                let after = tx.meta(&key)?.and_then(|s| s.parse().ok());
                let ip = ipam::allocate_after(cfg, after, |ip| tx.addr_in_use(&net.id, ip))?
                    .ok_or_else(|| {
                        Error::conflict(format!(
                            "no free address left in {} on network {}",
                            cfg.subnet, net.name
                        ))
                    })?;
                tx.set_meta(&key, &ip.to_string())?;
                ip
            }
        };
        Ok(IpNet::new(ip, cfg.subnet.prefix_len()).ok())
    };
    let ipv4 = addr(false, a.ip.map(IpAddr::V4))?;
    let ipv6 = if net.ipv6 {
        addr(true, a.ip6.map(IpAddr::V6))?
    } else {
        None
    };
    let mac = match (&a.mac, ipv4) {
        (Some(m), _) => {
            crate::kernel::msg::parse_mac(m).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid --mac-address {m:?}: expected six hex pairs like 02:42:ac:11:00:02"
                ))
            })?;
            m.to_lowercase()
        }
        (None, Some(IpNet::V4(v4))) => ipam::mac_for_ipv4(v4.addr()),
        _ => ipam::random_mac(),
    };
    let ep = Endpoint {
        host_veth: ids::host_veth_name(&id),
        id,
        container_id: cid.to_string(),
        network_id: net.id.clone(),
        ifname: ifname.to_string(),
        ipv4,
        ipv6,
        mac,
        aliases: a.aliases.clone(),
        position,
    };
    tx.insert_endpoint(&ep)?;
    Ok(ep)
}

/// The endpoint that carries the default route and published ports: the
/// first one on a non-internal network.
pub(crate) fn primary<'a>(eps: &'a [Endpoint], nets: &[Network]) -> Option<&'a Endpoint> {
    eps.iter()
        .find(|e| nets.iter().any(|n| n.id == e.network_id && !n.internal))
}

fn reserve_ports(
    tx: &Tx,
    c: &Container,
    nets: &[Network],
    eps: &[Endpoint],
    listeners: &[crate::kernel::facts::Listener],
) -> Result<Vec<crate::model::PortBinding>> {
    if c.config.publish.is_empty() {
        return Ok(Vec::new());
    }
    crate::drivers::check_publish(nets)?;
    let Some(p) = primary(eps, nets) else {
        if nets.iter().any(|n| n.driver == Driver::Host) {
            eprintln!("WARNING: Published ports are discarded when using host network mode");
            return Ok(Vec::new());
        }
        let names: Vec<&str> = nets.iter().map(|n| n.name.as_str()).collect();
        return Err(Error::invalid(format!(
            "cannot publish ports on network {}: it does not reach the outside (none or --internal); use a bridge network or drop -p",
            names.join(", ")
        )));
    };
    let net = nets.iter().find(|n| n.id == p.network_id);
    for spec in &c.config.publish {
        if let Some(ip) = spec.host_ip {
            if ip.is_ipv6() && ip.is_loopback() {
                return Err(Error::invalid(
                    "cannot publish on [::1]: IPv6 loopback needs a userland forwarder, which berth does not have yet; publish on 127.0.0.1 or on all addresses",
                ));
            }
            if ip.is_ipv6() && p.ipv6.is_none() {
                return Err(Error::invalid(format!(
                    "cannot publish on {ip}: the container has no IPv6 address; use an --ipv6 network or an IPv4 host address"
                )));
            }
        }
    }
    ports::reserve(
        tx,
        &c.id,
        &c.config.publish,
        net.and_then(|n| n.host_binding_ipv4),
        listeners,
    )
}
