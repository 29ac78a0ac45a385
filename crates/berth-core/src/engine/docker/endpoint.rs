//! Docker endpoints: CreateEndpoint records the endpoint (its address,
//! MAC and record), Join builds the veth (the host end on the network's
//! bridge, the container end left in the host's namespace for Docker to
//! move into the sandbox and configure), Leave marks it left, and
//! DeleteEndpoint takes it down and forgets it.

use crate::engine::container::{new_endpoint, ports_step};
use crate::engine::run::{Intent, Outcome};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::model::cni::CniAttachment;
use crate::model::docker::{record_name, DockerEndpointCreate, DockerJoined};
use crate::model::{Container, ContainerConfig, ContainerState, Endpoint, Network, NetworkAttach};
use crate::plan::{OpKind, Plan, Step};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The name berth records for the container end: Docker moves it into
/// the sandbox and renames it (`eth0`, `eth1`...), which berth cannot know.
const IFNAME: &str = "eth";

impl Engine {
    /// CreateEndpoint: records the endpoint with the addresses Docker's
    /// IPAM gave (berth allocates them when Docker gave none). Returns it
    /// (its MAC is the one Docker's sandbox gets).
    pub fn docker_create_endpoint(&mut self, req: &DockerEndpointCreate) -> Result<Endpoint> {
        self.require_root()?;
        super::check_id("endpoint", &req.endpoint_id)?;
        let net = self.docker_network(&req.network_id)?;
        if let Ok((_, ep)) = self.docker_endpoint(&net, &req.endpoint_id) {
            return Ok(ep);
        }
        let attach = NetworkAttach {
            network: net.name.clone(),
            ip: given(req.ipv4, &net)?.and_then(|ip| match ip {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            }),
            ip6: given(req.ipv6, &net)?.and_then(|ip| match ip {
                IpAddr::V6(v6) => Some(v6),
                IpAddr::V4(_) => None,
            }),
            mac: req.mac.clone(),
            ..Default::default()
        };
        self.store.write(|tx| {
            if tx.network_op(&net.id)?.is_some() {
                return Err(Error::conflict(format!(
                    "network {} is being created or removed",
                    net.name
                )));
            }
            let now = crate::model::now_rfc3339();
            let c = Container {
                id: ids::new_id()?,
                name: record_name(&req.endpoint_id),
                created: now,
                config: ContainerConfig {
                    networks: vec![attach.clone()],
                    ..Default::default()
                },
                state: ContainerState::Created,
                pid: None,
                pid_start: None,
                supervisor_pid: None,
                exit_code: None,
                started_at: None,
                finished_at: None,
                ports: Vec::new(),
                cni: Some(CniAttachment {
                    network: net.name.clone(),
                    container_id: req.endpoint_id.clone(),
                    ifname: IFNAME.into(),
                    netns: PathBuf::new(),
                    shaping: None,
                    docker: true,
                }),
            };
            tx.insert_container(&c)?;
            new_endpoint(tx, &c.id, &net, &attach, 0, IFNAME)
        })
    }

    /// Join: creates the veth whose container end Docker moves into
    /// `sandbox`; returns its name and the gateways.
    pub fn docker_join(
        &mut self,
        network_id: &str,
        endpoint_id: &str,
        sandbox: &Path,
    ) -> Result<DockerJoined> {
        self.require_root()?;
        let net = self.docker_network(network_id)?;
        let (c, ep) = self.docker_endpoint(&net, endpoint_id)?;
        // Not a namespace yet: Docker binds the container's namespace there
        // when the container starts, after Join (and then moves the
        // interface in). berth only records it, and reads it later.
        if !sandbox.is_absolute() {
            return Err(Error::invalid(format!(
                "SandboxKey {:?} is not an absolute path",
                sandbox.display()
            )));
        }
        let src = staging_name(&ep);
        let joined = DockerJoined {
            src_name: src.clone(),
            gateway: gateway(&net, ep.ipv4),
            gateway6: gateway(&net, ep.ipv6),
            internal: net.internal,
        };
        if c.state == ContainerState::Running {
            return Err(Error::conflict(format!(
                "endpoint {} has joined a sandbox already",
                ids::short(endpoint_id)
            )));
        }
        let plan = join_plan(&c, &ep, &net, &src);
        let mut running = c.clone();
        running.state = ContainerState::Running;
        running.started_at = Some(crate::model::now_rfc3339());
        if let Some(a) = running.cni.as_mut() {
            a.netns = sandbox.to_path_buf();
        }
        self.run_op(
            OpKind::DockerJoin,
            |tx| {
                tx.update_container(&running)?;
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, outcome| match outcome {
                Outcome::Applied => Ok(()),
                Outcome::RolledBack => tx.update_container(&c),
            },
        )?;
        Ok(joined)
    }

    /// Leave: the sandbox no longer uses the endpoint (Docker takes the
    /// interface out of it; DeleteEndpoint deletes it).
    pub fn docker_leave(&mut self, network_id: &str, endpoint_id: &str) -> Result<()> {
        self.require_root()?;
        let net = self.docker_network(network_id)?;
        let (mut c, _) = self.docker_endpoint(&net, endpoint_id)?;
        c.state = ContainerState::Exited;
        c.finished_at = Some(crate::model::now_rfc3339());
        self.store.write(|tx| tx.update_container(&c))
    }

    /// DeleteEndpoint: removes its elements and its veth, frees its
    /// address and host ports (rolled forward after a crash).
    pub fn docker_delete_endpoint(&mut self, network_id: &str, endpoint_id: &str) -> Result<()> {
        self.require_root()?;
        let net = self.docker_network(network_id)?;
        let (c, ep) = self.docker_endpoint(&net, endpoint_id)?;
        let joined = c
            .cni
            .as_ref()
            .is_some_and(|a| !a.netns.as_os_str().is_empty());
        let plan = if joined {
            crate::engine::cni::teardown_plan(&c, &[ep], std::slice::from_ref(&net))
        } else {
            Plan::default()
        };
        self.run_op(
            OpKind::DockerDelete,
            |_| {
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, _| tx.delete_container(&c.id),
        )
    }
}

/// An address Docker gave, checked against the network's subnets.
fn given(addr: Option<IpNet>, net: &Network) -> Result<Option<IpAddr>> {
    let Some(a) = addr else { return Ok(None) };
    let fits = net
        .ipam
        .iter()
        .any(|c| c.subnet.contains(&a.addr()) && c.subnet.prefix_len() == a.prefix_len());
    if !fits {
        let subnets: Vec<String> = net.ipam.iter().map(|c| c.subnet.to_string()).collect();
        return Err(Error::invalid(format!(
            "address {a} is not in network {}'s subnets ({})",
            net.name,
            subnets.join(", ")
        )));
    }
    Ok(Some(a.addr()))
}

/// The gateway of `net` for an endpoint address of that family (none on
/// internal networks, which have no way out).
fn gateway(net: &Network, addr: Option<IpNet>) -> Option<IpAddr> {
    let addr = addr?;
    if net.internal {
        return None;
    }
    net.ipam
        .iter()
        .find(|c| c.subnet.contains(&addr.addr()))
        .map(|c| c.gateway)
}

/// The container end's name while it is in the host's namespace: the host
/// end's with `veth` replaced by `dk` (unique as the host end's is).
fn staging_name(ep: &Endpoint) -> String {
    let tail = ep.host_veth.strip_prefix("veth").unwrap_or(&ep.host_veth);
    format!("dk{tail}")
}

/// The plan of a Join: the veth (no addresses: Docker sets them in the
/// sandbox), then the endpoint's elements (`enable_icc=false` ports).
fn join_plan(c: &Container, ep: &Endpoint, net: &Network, src: &str) -> Plan {
    let mut steps = vec![Step::CreateVeth {
        host: ep.host_veth.clone(),
        peer: src.to_string(),
        // The container end stays in this (the host's) namespace.
        netns: PathBuf::from("/proc/self/ns/net"),
        bridge: net.bridge.clone().unwrap_or_default(),
        mtu: net.mtu,
        mac: ep.mac.clone(),
        addrs: Vec::new(),
        gateways: Vec::new(),
        owner: ep.id.clone(),
    }];
    steps.extend(ports_step(
        c,
        std::slice::from_ref(ep),
        std::slice::from_ref(net),
    ));
    Plan { steps }
}
