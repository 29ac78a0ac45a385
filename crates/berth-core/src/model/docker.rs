//! What `berth docker-plugin` keeps for Docker besides ordinary networks
//! and containers: the address pools of its IPAM driver, and the requests
//! the engine's Docker operations take. Pure data; the protocol (JSON over
//! HTTP) is the `berth` binary's `docker` module, the operations are in
//! `engine::docker`.

use super::PortSpec;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// An address pool Docker requested from berth's IPAM driver. Its id (what
/// Docker calls the PoolID) is the subnet in CIDR form: pools never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerPool {
    /// The pool.
    pub subnet: IpNet,
    /// Addresses are handed out from this part of it only (Docker's
    /// `--ip-range`, the protocol's SubPool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<IpNet>,
    /// The gateway address Docker reserved, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Addresses handed out (containers and `--aux-address`es).
    #[serde(default)]
    pub leases: BTreeSet<IpAddr>,
}

impl DockerPool {
    /// The pool's id in the protocol.
    pub fn id(&self) -> String {
        self.subnet.to_string()
    }
}

/// One subnet of a Docker network (the protocol's IPv4Data / IPv6Data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerSubnet {
    /// The pool.
    pub pool: IpNet,
    /// The gateway, if Docker's IPAM gave one.
    pub gateway: Option<IpAddr>,
    /// Reserved addresses by name (`--aux-address`).
    pub aux: BTreeMap<String, IpAddr>,
}

/// CreateNetwork, as the engine takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerNetworkCreate {
    /// Docker's network id (64 hex).
    pub network_id: String,
    /// Subnets, IPv4 and IPv6.
    pub subnets: Vec<DockerSubnet>,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--internal`.
    pub internal: bool,
    /// `-o` options (berth's bridge options, as `berth network create -o`).
    pub options: BTreeMap<String, String>,
}

/// CreateEndpoint, as the engine takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerEndpointCreate {
    /// Docker's network id.
    pub network_id: String,
    /// Docker's endpoint id (64 hex).
    pub endpoint_id: String,
    /// The IPv4 address Docker's IPAM gave (with its prefix), if any.
    pub ipv4: Option<IpNet>,
    /// The IPv6 address, if any.
    pub ipv6: Option<IpNet>,
    /// The MAC address Docker gave (`--mac-address`), if any.
    pub mac: Option<String>,
}

/// What Join answers: the interface Docker moves into the sandbox, and
/// the gateways to route through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerJoined {
    /// The container end of the veth, in the host's namespace until
    /// Docker moves it.
    pub src_name: String,
    /// IPv4 gateway (none on internal networks).
    pub gateway: Option<IpAddr>,
    /// IPv6 gateway.
    pub gateway6: Option<IpAddr>,
    /// The network is internal: no gateway, and Docker must not add one.
    pub internal: bool,
}

/// ProgramExternalConnectivity: the ports to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerPorts {
    /// Docker's network id.
    pub network_id: String,
    /// Docker's endpoint id.
    pub endpoint_id: String,
    /// The bindings, as `-p` would give them.
    pub ports: Vec<PortSpec>,
}

/// The record name of Docker endpoint `endpoint_id` (berth's container
/// record of it): `docker:` and the endpoint's short id.
pub fn record_name(endpoint_id: &str) -> String {
    format!("docker:{}", &endpoint_id[..endpoint_id.len().min(12)])
}

/// The berth name of Docker network `network_id`: `docker-` and its
/// short id (Docker does not tell drivers the name it shows).
pub fn network_name(network_id: &str) -> String {
    format!("docker-{}", &network_id[..network_id.len().min(12)])
}
