//! Docker's remote network and IPAM driver protocols (libnetwork's
//! `docs/remote.md` and `docs/ipam.md`), pure: a request's path and JSON
//! body become a [`Call`] for the engine, or a [`Refusal`]. The answers
//! are built in `answer.rs`.

use berth_core::model::docker::{
    DockerEndpointCreate, DockerNetworkCreate, DockerPorts, DockerSubnet,
};
use berth_core::model::{PortSpec, Proto};
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// Docker's key for the `-o` options in CreateNetwork's Options.
const GENERIC: &str = "com.docker.network.generic";
/// `--internal`.
const INTERNAL: &str = "com.docker.network.internal";
/// `--ipv6`.
const IPV6: &str = "com.docker.network.enable_ipv6";
/// The published ports in ProgramExternalConnectivity's Options.
const PORTMAP: &str = "com.docker.network.portmap";

/// One request, decoded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `/Plugin.Activate`.
    Activate,
    /// `/NetworkDriver.GetCapabilities`.
    NetworkCapabilities,
    /// `/IpamDriver.GetCapabilities`.
    IpamCapabilities,
    /// `/IpamDriver.GetDefaultAddressSpaces`.
    AddressSpaces,
    /// `/NetworkDriver.DiscoverNew`, `DiscoverDelete` and IPAM's: nothing to do.
    Discovery,
    /// `/NetworkDriver.CreateNetwork`.
    CreateNetwork(DockerNetworkCreate),
    /// `/NetworkDriver.DeleteNetwork`.
    DeleteNetwork(String),
    /// `/NetworkDriver.CreateEndpoint`.
    CreateEndpoint(DockerEndpointCreate),
    /// `/NetworkDriver.EndpointOperInfo`.
    EndpointInfo(Ids),
    /// `/NetworkDriver.DeleteEndpoint`.
    DeleteEndpoint(Ids),
    /// `/NetworkDriver.Join`.
    Join(Ids, PathBuf),
    /// `/NetworkDriver.Leave`.
    Leave(Ids),
    /// `/NetworkDriver.ProgramExternalConnectivity`.
    Program(DockerPorts),
    /// `/NetworkDriver.RevokeExternalConnectivity`.
    Revoke(Ids),
    /// `/IpamDriver.RequestPool`.
    RequestPool {
        /// The pool asked for, `None` = berth chooses.
        pool: Option<IpNet>,
        /// The part of it addresses come from.
        range: Option<IpNet>,
        /// An IPv6 pool when berth chooses.
        v6: bool,
    },
    /// `/IpamDriver.ReleasePool`.
    ReleasePool(String),
    /// `/IpamDriver.RequestAddress`.
    RequestAddress {
        /// Pool id.
        pool: String,
        /// The address asked for, `None` = the next free one.
        address: Option<IpAddr>,
        /// It is the network's gateway.
        gateway: bool,
    },
    /// `/IpamDriver.ReleaseAddress`.
    ReleaseAddress {
        /// Pool id.
        pool: String,
        /// The address.
        address: IpAddr,
    },
}

/// Docker's network and endpoint ids of a request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ids {
    /// Network id.
    #[serde(rename = "NetworkID")]
    pub network: String,
    /// Endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint: String,
}

/// Why a request gets no answer from the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A path berth does not serve: 404, so Docker knows the method is
    /// not implemented (the protocol's rule).
    UnknownPath(String),
    /// A body that does not decode, or a value that is not what the
    /// protocol says: 400 with the reason.
    BadRequest(String),
}

/// Decodes the request to `path` with `body`.
pub fn parse(path: &str, body: &[u8]) -> Result<Call, Refusal> {
    let call = match path {
        "/Plugin.Activate" => Call::Activate,
        "/NetworkDriver.GetCapabilities" => Call::NetworkCapabilities,
        "/IpamDriver.GetCapabilities" => Call::IpamCapabilities,
        "/IpamDriver.GetDefaultAddressSpaces" => Call::AddressSpaces,
        "/NetworkDriver.DiscoverNew"
        | "/NetworkDriver.DiscoverDelete"
        | "/IpamDriver.DiscoverNew"
        | "/IpamDriver.DiscoverDelete" => Call::Discovery,
        "/NetworkDriver.CreateNetwork" => Call::CreateNetwork(create_network(decode(body)?)?),
        "/NetworkDriver.DeleteNetwork" => Call::DeleteNetwork(decode::<NetworkOnly>(body)?.id),
        "/NetworkDriver.CreateEndpoint" => Call::CreateEndpoint(create_endpoint(decode(body)?)?),
        "/NetworkDriver.EndpointOperInfo" => Call::EndpointInfo(decode(body)?),
        "/NetworkDriver.DeleteEndpoint" => Call::DeleteEndpoint(decode(body)?),
        "/NetworkDriver.Join" => {
            let j: JoinReq = decode(body)?;
            Call::Join(j.ids, PathBuf::from(j.sandbox))
        }
        "/NetworkDriver.Leave" => Call::Leave(decode(body)?),
        "/NetworkDriver.ProgramExternalConnectivity" => Call::Program(program(decode(body)?)?),
        "/NetworkDriver.RevokeExternalConnectivity" => Call::Revoke(decode(body)?),
        "/IpamDriver.RequestPool" => ipam::request_pool(decode(body)?)?,
        "/IpamDriver.ReleasePool" => Call::ReleasePool(decode::<PoolOnly>(body)?.id),
        "/IpamDriver.RequestAddress" => ipam::request_address(decode(body)?)?,
        "/IpamDriver.ReleaseAddress" => ipam::release_address(decode(body)?)?,
        _ => return Err(Refusal::UnknownPath(path.to_string())),
    };
    Ok(call)
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| Refusal::BadRequest(format!("invalid request body: {e}")))
}

fn bad(msg: String) -> Refusal {
    Refusal::BadRequest(msg)
}

/// `null` decodes as the type's default (Docker sends `"Options": null`).
pub(super) fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct NetworkOnly {
    #[serde(rename = "NetworkID")]
    id: String,
}

#[derive(Deserialize)]
struct PoolOnly {
    #[serde(rename = "PoolID")]
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IpamData {
    pool: String,
    #[serde(default, deserialize_with = "null_default")]
    gateway: String,
    #[serde(default, deserialize_with = "null_default")]
    aux_addresses: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateNetworkReq {
    #[serde(rename = "NetworkID")]
    id: String,
    #[serde(default, deserialize_with = "null_default")]
    options: Map<String, Value>,
    #[serde(rename = "IPv4Data", default, deserialize_with = "null_default")]
    ipv4: Vec<IpamData>,
    #[serde(rename = "IPv6Data", default, deserialize_with = "null_default")]
    ipv6: Vec<IpamData>,
}

fn create_network(r: CreateNetworkReq) -> Result<DockerNetworkCreate, Refusal> {
    let flag = |k: &str| r.options.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut options = BTreeMap::new();
    if let Some(generic) = r.options.get(GENERIC).filter(|v| !v.is_null()) {
        let Value::Object(map) = generic else {
            return Err(bad(format!("{GENERIC} is not an object: {generic}")));
        };
        for (k, v) in map {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Bool(_) | Value::Number(_) => v.to_string(),
                _ => {
                    return Err(bad(format!(
                        "option {k} has a value that is not a string: {v}"
                    )))
                }
            };
            options.insert(k.clone(), v);
        }
    }
    let mut subnets = Vec::new();
    for d in r.ipv4.iter().chain(&r.ipv6) {
        let mut aux = BTreeMap::new();
        for (k, v) in &d.aux_addresses {
            aux.insert(k.clone(), ip_or_cidr("AuxAddresses", v)?);
        }
        subnets.push(DockerSubnet {
            pool: net("Pool", &d.pool)?,
            gateway: (!d.gateway.is_empty())
                .then(|| ip_or_cidr("Gateway", &d.gateway))
                .transpose()?,
            aux,
        });
    }
    Ok(DockerNetworkCreate {
        network_id: r.id,
        subnets,
        ipv6: flag(IPV6),
        internal: flag(INTERNAL),
        options,
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Interface {
    #[serde(default, deserialize_with = "null_default")]
    address: String,
    #[serde(rename = "AddressIPv6", default, deserialize_with = "null_default")]
    address6: String,
    #[serde(default, deserialize_with = "null_default")]
    mac_address: String,
}

#[derive(Deserialize)]
struct CreateEndpointReq {
    #[serde(flatten)]
    ids: Ids,
    #[serde(rename = "Interface", default, deserialize_with = "null_default")]
    interface: Interface,
}

fn create_endpoint(r: CreateEndpointReq) -> Result<DockerEndpointCreate, Refusal> {
    let i = &r.interface;
    let cidr = |what: &str, s: &str| (!s.is_empty()).then(|| net_host(what, s)).transpose();
    Ok(DockerEndpointCreate {
        network_id: r.ids.network,
        endpoint_id: r.ids.endpoint,
        ipv4: cidr("Address", &i.address)?,
        ipv6: cidr("AddressIPv6", &i.address6)?,
        mac: (!i.mac_address.is_empty()).then(|| i.mac_address.clone()),
    })
}

#[derive(Deserialize)]
struct JoinReq {
    #[serde(flatten)]
    ids: Ids,
    #[serde(rename = "SandboxKey")]
    sandbox: String,
}

#[derive(Deserialize)]
struct ProgramReq {
    #[serde(flatten)]
    ids: Ids,
    #[serde(rename = "Options", default, deserialize_with = "null_default")]
    options: Map<String, Value>,
}

/// One of Docker's port bindings (`types.PortBinding`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Binding {
    proto: u8,
    port: u16,
    #[serde(rename = "HostIP", default, deserialize_with = "null_default")]
    host_ip: String,
    #[serde(default)]
    host_port: u16,
    #[serde(default)]
    host_port_end: u16,
}

fn program(r: ProgramReq) -> Result<DockerPorts, Refusal> {
    let bindings: Vec<Binding> = match r.options.get(PORTMAP) {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| bad(format!("invalid {PORTMAP}: {e}")))?
        }
    };
    let ports = bindings.iter().map(port_spec).collect::<Result<_, _>>()?;
    Ok(DockerPorts {
        network_id: r.ids.network,
        endpoint_id: r.ids.endpoint,
        ports,
    })
}

/// A binding as `-p` gives it: one container port, a host port (or a
/// range to pick one from, or none: an ephemeral port).
fn port_spec(b: &Binding) -> Result<PortSpec, Refusal> {
    let proto = match b.proto {
        6 => Proto::Tcp,
        17 => Proto::Udp,
        p => {
            return Err(bad(format!(
                "port {}: protocol {p} is not supported (tcp and udp are)",
                b.port
            )))
        }
    };
    if b.port == 0 {
        return Err(bad("a published port has container port 0".into()));
    }
    let host_ports = match (b.host_port, b.host_port_end) {
        (0, _) => None,
        (lo, hi) if hi <= lo => Some((lo, lo)),
        (lo, hi) => Some((lo, hi)),
    };
    Ok(PortSpec {
        host_ip: (!b.host_ip.is_empty())
            .then(|| ip("HostIP", &b.host_ip))
            .transpose()?,
        host_ports,
        container_ports: (b.port, b.port),
        proto,
    })
}

pub(super) fn ip(what: &str, s: &str) -> Result<IpAddr, Refusal> {
    s.parse()
        .map_err(|_| bad(format!("{what} {s:?} is not an IP address")))
}

/// An address given as `A.B.C.D` or `A.B.C.D/NN` (Docker's gateways).
fn ip_or_cidr(what: &str, s: &str) -> Result<IpAddr, Refusal> {
    match s.split_once('/') {
        Some(_) => net_host(what, s).map(|n| n.addr()),
        None => ip(what, s),
    }
}

/// A subnet in CIDR form, without host bits.
pub(super) fn net(what: &str, s: &str) -> Result<IpNet, Refusal> {
    let n = net_host(what, s)?;
    if n.trunc() != n {
        return Err(bad(format!("{what} {s:?} has host bits set")));
    }
    Ok(n)
}

/// An address with its prefix (`10.0.0.5/24`).
fn net_host(what: &str, s: &str) -> Result<IpNet, Refusal> {
    s.parse()
        .map_err(|_| bad(format!("{what} {s:?} is not an address in CIDR form")))
}

#[path = "protocol_ipam.rs"]
mod ipam;

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
