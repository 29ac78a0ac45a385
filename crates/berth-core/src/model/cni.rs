//! Containers attached by a CNI runtime (berth's plugin mode): who they
//! belong to, and the requests the engine's CNI operations take. Pure data;
//! the protocol itself (JSON, versions, error codes) is the `berth-cni`
//! crate's, the operations are in `engine::cni`.

use super::PortSpec;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

/// A container record made by CNI ADD: the attachment's key and the
/// runtime's namespace. berth never creates or deletes that namespace, only
/// the veth and the addresses inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniAttachment {
    /// The network (the configuration's `name`).
    pub network: String,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_NETNS` at ADD: the runtime's namespace.
    pub netns: PathBuf,
    /// Its bandwidth limits (an egress limit has an ifb device to delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shaping: Option<Shaping>,
    /// Docker made it through `berth docker-plugin` (`container_id` is
    /// Docker's endpoint id, `netns` its sandbox): Docker adds and removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub docker: bool,
}

impl CniAttachment {
    /// The name of the berth container record of this attachment,
    /// `NETWORK:CONTAINERID:IFNAME` (`:` can appear in none of the three,
    /// so two attachments never share a name).
    pub fn record_name(&self) -> String {
        record_name(&self.network, &self.container_id, &self.ifname)
    }
}

/// The record name of attachment (`network`, `container_id`, `ifname`).
pub fn record_name(network: &str, container_id: &str, ifname: &str) -> String {
    format!("{network}:{container_id}:{ifname}")
}

/// One subnet of a CNI network, with its gateway and handed-out range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniSubnet {
    /// The subnet.
    pub subnet: IpNet,
    /// Gateway (`None` = the first address).
    pub gateway: Option<IpAddr>,
    /// First address handed out.
    pub range_start: Option<IpAddr>,
    /// Last address handed out.
    pub range_end: Option<IpAddr>,
}

/// The berth network a CNI configuration describes. `None` / empty means
/// "not given": berth's default for a new network, and no constraint on an
/// existing one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniNetwork {
    /// Network name.
    pub name: String,
    /// Linux bridge name.
    pub bridge: Option<String>,
    /// Subnets (empty = the existing network's, or the default pools).
    pub subnets: Vec<CniSubnet>,
    /// MTU.
    pub mtu: Option<u32>,
    /// Outbound masquerade.
    pub masquerade: Option<bool>,
    /// Inter-container communication on the bridge.
    pub icc: Option<bool>,
    /// No traffic in or out of the bridge.
    pub internal: Option<bool>,
    /// The program that manages the network (Podman, through berth's
    /// netavark mode); `None` for a CNI configuration's network.
    pub owner: Option<super::NetworkOwner>,
}

/// Where the attachment's addresses come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CniAddresses {
    /// berth allocates one per subnet of the network, taking these
    /// requested addresses (`runtimeConfig.ips`) where given.
    Allocate(Vec<IpAddr>),
    /// Addresses chosen by a previous plugin (`"ipam": {}`), with their
    /// gateways; they must be inside the network's subnets and free.
    Given(Vec<(IpNet, Option<IpAddr>)>),
}

/// A route inside the container (`gw` `None` = the network's gateway of
/// that family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniRoute {
    /// Destination (`0.0.0.0/0` / `::/0` for default routes).
    pub dst: IpNet,
    /// Next hop.
    pub gw: Option<IpAddr>,
}

/// Traffic shaping of an attachment, in bits per second and bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shaping {
    /// Into the container: rate and burst (0 = no limit).
    pub ingress: (u64, u64),
    /// Out of the container: rate and burst (0 = no limit).
    pub egress: (u64, u64),
}

/// A CNI ADD, as the engine takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniAdd {
    /// The network (created on the first ADD).
    pub network: CniNetwork,
    /// The attachment.
    pub attachment: CniAttachment,
    /// Addresses.
    pub addresses: CniAddresses,
    /// MAC of the container interface (default: derived from the IPv4 address).
    pub mac: Option<String>,
    /// Published ports.
    pub ports: Vec<PortSpec>,
    /// DNS aliases on the network.
    pub aliases: Vec<String>,
    /// Routes inside the container, default routes included.
    pub routes: Vec<CniRoute>,
    /// Traffic shaping, if asked for.
    pub shaping: Option<Shaping>,
    /// Bring the namespace's `lo` up too (netavark's job; a CNI runtime
    /// runs the `loopback` plugin).
    pub loopback: bool,
    /// Routes (default routes included) added beside the namespace's
    /// existing ones with this metric (Podman: a default route per network,
    /// as netavark adds them), instead of replacing them.
    pub default_route_metric: Option<u32>,
}
