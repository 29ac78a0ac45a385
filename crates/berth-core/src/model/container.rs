//! Containers and their endpoints (one per network they are attached to).

use super::port::{PortBinding, PortSpec};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// A `--network` attachment request, with its per-network options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkAttach {
    /// Network name or id.
    pub network: String,
    /// `--ip`.
    pub ip: Option<Ipv4Addr>,
    /// `--ip6`.
    pub ip6: Option<Ipv6Addr>,
    /// `--alias` / `--network-alias`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--mac-address`.
    pub mac: Option<String>,
    /// Endpoint driver options (`driver-opt=` of `--network name=...`,
    /// `network connect --driver-opt`): see [`super::netopt::ENDPOINT_OPTS`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// `gw-priority=`: the endpoint with the highest carries the default
    /// route and the published ports (ties: the first network).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gw_priority: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// What `berth run` was asked to run: everything needed to (re)start it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContainerConfig {
    /// `--hostname` (default: the short id).
    pub hostname: String,
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// `-e K=V` values.
    pub env: Vec<String>,
    /// `--rootfs DIR`.
    pub rootfs: Option<PathBuf>,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub interactive: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// Networks in the order given (the first one carries the default route).
    pub networks: Vec<NetworkAttach>,
    /// `-p` requests as typed.
    pub publish: Vec<PortSpec>,
    /// `--dns` servers (the embedded DNS forwards this container's queries
    /// to them; on the default bridge they go into resolv.conf).
    #[serde(default)]
    pub dns: Vec<String>,
    /// `--dns-search` domains.
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `--dns-option` options.
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--add-host NAME:IP` (IP may be `host-gateway`).
    #[serde(default)]
    pub add_hosts: Vec<String>,
    /// `--log-opt`: how much of its output is kept (records from before
    /// the option get the defaults).
    #[serde(default)]
    pub log: super::log::LogOptions,
    /// Confinement flags (`--privileged`, `--cap-add`, `-v`, ...). Absent
    /// in records of earlier versions: Docker's default confinement.
    #[serde(default)]
    pub security: super::SecurityConfig,
    /// `--label KEY=VALUE` metadata (shown by `inspect`, matched by
    /// `ps --filter label=`); absent in records of earlier versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `--domainname`: the container's NIS domain name (UTS namespace).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    /// `--sysctl KEY=VALUE`: network sysctls written in the container's
    /// network namespace when its network is built (see `netopt::sysctl`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// `--expose PORT[-PORT][/PROTO]`: ports the container serves, published
    /// to ephemeral host ports by `-P`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<Exposed>,
    /// `-P/--publish-all`: every exposed port without a `-p` gets an
    /// ephemeral host port of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish_all: bool,
    /// `--network container:NAME`: the id of the container whose network
    /// namespace this one joins (it has no endpoint of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_container: Option<String>,
}

/// A port range the container serves (`--expose`, and the container side
/// of `-p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Exposed {
    /// First port.
    pub first: u16,
    /// Last port (equal to `first` for one port).
    pub last: u16,
    /// Protocol.
    pub proto: super::Proto,
}

impl ContainerConfig {
    /// Every port range the container exposes: `--expose` and the
    /// container side of each `-p`, in Docker's `Config.ExposedPorts`.
    pub fn exposed_ports(&self) -> Vec<Exposed> {
        let mut v: Vec<Exposed> = self.expose.clone();
        v.extend(self.publish.iter().map(|p| Exposed {
            first: p.container_ports.0,
            last: p.container_ports.1,
            proto: p.proto,
        }));
        v
    }

    /// What is published: the `-p` requests, and with `-P` one request
    /// for an ephemeral host port per exposed port that no `-p` publishes
    /// (Docker's `PublishAllPorts`).
    pub fn port_specs(&self) -> Vec<PortSpec> {
        let mut specs = self.publish.clone();
        if !self.publish_all {
            return specs;
        }
        let mut ports: Vec<(u16, super::Proto)> = self
            .expose
            .iter()
            .flat_map(|e| (e.first..=e.last).map(move |p| (p, e.proto)))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        for (port, proto) in ports {
            let covered = self.publish.iter().any(|p| {
                p.proto == proto && (p.container_ports.0..=p.container_ports.1).contains(&port)
            });
            if !covered {
                specs.push(PortSpec {
                    host_ip: None,
                    host_ports: None,
                    container_ports: (port, port),
                    proto,
                });
            }
        }
        specs
    }
}

/// Lifecycle state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Recorded, not started yet (or being started).
    Created,
    /// Its process is running.
    Running,
    /// Its process has exited.
    Exited,
}

impl ContainerState {
    /// Docker's status word.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Exited => "exited",
        }
    }
}

/// A stored container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// 64-hex id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Creation time (RFC 3339).
    pub created: String,
    /// What to run.
    pub config: ContainerConfig,
    /// Lifecycle state as last recorded.
    pub state: ContainerState,
    /// Host PID of the container's PID 1 while running.
    pub pid: Option<i32>,
    /// Start time of that PID (clock ticks since boot) to detect PID reuse.
    pub pid_start: Option<u64>,
    /// PID of the supervisor process of a detached container.
    pub supervisor_pid: Option<i32>,
    /// Exit code once exited.
    pub exit_code: Option<i32>,
    /// When it last started.
    pub started_at: Option<String>,
    /// When it last exited.
    pub finished_at: Option<String>,
    /// Published ports, resolved to concrete host ports.
    pub ports: Vec<PortBinding>,
    /// Set for a container attached by a CNI runtime (berth's plugin mode):
    /// it has no process of berth's and lives in the runtime's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni: Option<super::cni::CniAttachment>,
}

/// A container's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// 64-hex id.
    pub id: String,
    /// The container.
    pub container_id: String,
    /// The network.
    pub network_id: String,
    /// Interface name inside the container (eth0, eth1, ...).
    pub ifname: String,
    /// IPv4 address with the subnet's prefix length.
    pub ipv4: Option<IpNet>,
    /// IPv6 address with the subnet's prefix length.
    pub ipv6: Option<IpNet>,
    /// MAC address of the container's interface.
    pub mac: String,
    /// Host-side veth name.
    pub host_veth: String,
    /// DNS aliases on this network.
    pub aliases: Vec<String>,
    /// Order of attachment (0 = first network: default route, published
    /// ports, unless another has a higher `gw_priority`).
    pub position: u32,
    /// `gw-priority`: the endpoint with the highest carries the default
    /// route and the published ports.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gw_priority: i64,
}
