//! `berth docker-plugin`: the engine's side of Docker's remote network and
//! IPAM drivers (the protocol is the `berth` binary's `docker` module).
//!
//! A Docker network is a berth bridge network whose `docker` field holds
//! Docker's id; a Docker endpoint is a container record like a CNI
//! attachment's (`CniAttachment` with `docker` set, named
//! `docker:<endpoint id>`), with one endpoint and the sandbox Docker made
//! as its namespace. So `berth network ls`, `inspect`, `ps`, `topology`,
//! `doctor` and `trace` show Docker's containers, addresses and host ports
//! come from the same store as `berth run`'s, and the same nftables sets
//! and maps isolate them and publish their ports. Docker owns them: berth's
//! own `rm`, `network rm`, `start`, `connect` refuse them.
//!
//! Every operation runs through the engine's runner, as every berth
//! operation does (Join is a `docker_join`, rolled back after a crash;
//! DeleteEndpoint a `docker_delete`, rolled forward; published ports a
//! `docker_publish`, rolled back, and unpublished ones a
//! `docker_unpublish`, rolled forward), so a plugin killed at any point
//! leaves nothing the next one (or any berth command) does not finish or
//! undo.

mod endpoint;
mod ipam;
mod ports;

pub(crate) use ports::unpublished;

use super::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::model::docker::{network_name, DockerNetworkCreate};
use crate::model::{Container, Endpoint, Network, NetworkCreate};

impl Engine {
    /// CreateNetwork: a bridge network with Docker's subnets, gateways and
    /// `-o` options (berth's bridge options; any other is refused, naming
    /// it). A network Docker created already is answered as it is.
    pub fn docker_create_network(&mut self, req: &DockerNetworkCreate) -> Result<Network> {
        self.require_root()?;
        check_id("network", &req.network_id)?;
        if let Some(n) = self.docker_network_opt(&req.network_id)? {
            return Ok(n);
        }
        let mut nc = NetworkCreate {
            name: network_name(&req.network_id),
            driver: "bridge".into(),
            ipv6: req.ipv6,
            internal: req.internal,
            options: req
                .options
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            ..Default::default()
        };
        for s in &req.subnets {
            nc.subnets.push(s.pool.to_string());
            if let Some(g) = s.gateway {
                nc.gateways.push(g.to_string());
            }
            nc.aux_addresses
                .extend(s.aux.iter().map(|(k, ip)| format!("{k}={ip}")));
        }
        let subnets = nc.subnet_requests()?;
        let id = req.network_id.clone();
        self.create_bridge_network(&nc, &subnets, move |n| {
            n.docker = Some(id);
            Ok(())
        })
    }

    /// DeleteNetwork (Docker removed its endpoints first).
    pub fn docker_delete_network(&mut self, network_id: &str) -> Result<()> {
        self.require_root()?;
        let _lock = self.lock()?;
        let net = self.docker_network(network_id)?;
        self.remove_network_unchecked(net).map(|_| ())
    }

    /// The berth network of Docker network `network_id`, if any.
    fn docker_network_opt(&mut self, network_id: &str) -> Result<Option<Network>> {
        self.store.read(|tx| tx.docker_network(network_id))
    }

    /// The berth network of Docker network `network_id` (not found: a stale
    /// request, or a network made before this state root).
    pub(crate) fn docker_network(&mut self, network_id: &str) -> Result<Network> {
        self.docker_network_opt(network_id)?.ok_or_else(|| {
            Error::not_found(format!(
                "network {} is not known to berth (no CreateNetwork for it reached this plugin, or it was removed)",
                ids::short(network_id)
            ))
        })
    }

    /// The record and endpoint of Docker endpoint `endpoint_id` on `net`.
    pub(crate) fn docker_endpoint(
        &mut self,
        net: &Network,
        endpoint_id: &str,
    ) -> Result<(Container, Endpoint)> {
        let name = crate::model::docker::record_name(endpoint_id);
        let found = self.store.read(|tx| {
            let Some(c) = tx.container(&name)? else {
                return Ok(None);
            };
            let ep = tx
                .container_endpoints(&c.id)?
                .into_iter()
                .find(|e| e.network_id == net.id);
            Ok(ep.map(|e| (c, e)))
        })?;
        found
            .filter(|(c, _)| {
                c.name == name
                    && c.cni
                        .as_ref()
                        .is_some_and(|a| a.docker && a.container_id == endpoint_id)
            })
            .ok_or_else(|| {
                Error::not_found(format!(
                    "endpoint {} is not known to berth on network {}",
                    ids::short(endpoint_id),
                    net.name
                ))
            })
    }
}

/// Checks one of Docker's ids: 1 to 64 lowercase hex digits (they name
/// records and appear in messages).
pub(crate) fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!(
            "invalid {what} id {id:?}: Docker's ids are 64 hex digits"
        )));
    }
    Ok(())
}

impl Engine {
    /// EndpointOperInfo: the record and endpoint of a Docker endpoint.
    pub fn docker_endpoint_info(
        &mut self,
        network_id: &str,
        endpoint_id: &str,
    ) -> Result<(Container, Endpoint)> {
        let net = self.docker_network(network_id)?;
        self.docker_endpoint(&net, endpoint_id)
    }
}
