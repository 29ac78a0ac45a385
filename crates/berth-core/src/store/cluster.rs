//! The cluster store's data (pure): where overlay networks, their address
//! allocations (one key per address, which is also the endpoint's record)
//! and each host's tunnel endpoint live in etcd, and their JSON forms.
//!
//! ```text
//! /berth/v1/networks/<network id>      the overlay network (JSON)
//! /berth/v1/names/<network name>       its id (names are cluster-wide)
//! /berth/v1/vnis/<vni>                 its id (VNIs are cluster-wide)
//! /berth/v1/addrs/<network id>/<ip>    an allocated address = an endpoint
//!                                      (AddrRec), on its host's lease
//! /berth/v1/hosts/<host id>            a host (HostRec), on its lease
//! ```
//!
//! Allocation is a compare-and-swap: the address key is created only if it
//! does not exist (`create_revision == 0`), so two hosts attaching at the
//! same instant never get the same address. Keys of a host carry its
//! lease, renewed by `berth agent`: when a host dies, its endpoints and
//! its tunnel endpoint expire and the addresses become free again.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Prefix of every key berth writes.
pub const PREFIX: &str = "/berth/v1/";

/// Key of overlay network `id`.
pub fn network_key(id: &str) -> String {
    format!("{PREFIX}networks/{id}")
}

/// Prefix of every overlay network.
pub fn networks_prefix() -> String {
    format!("{PREFIX}networks/")
}

/// Key reserving network name `name`.
pub fn name_key(name: &str) -> String {
    format!("{PREFIX}names/{name}")
}

/// Key reserving VNI `vni`.
pub fn vni_key(vni: u32) -> String {
    format!("{PREFIX}vnis/{vni}")
}

/// Prefix of every VNI reservation.
pub fn vnis_prefix() -> String {
    format!("{PREFIX}vnis/")
}

/// Key of address `ip` on network `nid`.
pub fn addr_key(nid: &str, ip: &IpAddr) -> String {
    format!("{PREFIX}addrs/{nid}/{ip}")
}

/// Prefix of the addresses of network `nid` (all networks with `""`).
pub fn addrs_prefix(nid: &str) -> String {
    if nid.is_empty() {
        format!("{PREFIX}addrs/")
    } else {
        format!("{PREFIX}addrs/{nid}/")
    }
}

/// Key of host `id`.
pub fn host_key(id: &str) -> String {
    format!("{PREFIX}hosts/{id}")
}

/// Prefix of every host.
pub fn hosts_prefix() -> String {
    format!("{PREFIX}hosts/")
}

/// An allocated address of an overlay network: the endpoint as other hosts
/// (their VXLAN devices and DNS) need to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrRec {
    /// Id of the host the container runs on.
    pub host: String,
    /// That host's tunnel endpoint.
    pub vtep: IpAddr,
    /// The container's MAC address on the network.
    pub mac: String,
    /// Container id, once the container is recorded (empty while the
    /// address is only reserved).
    #[serde(default)]
    pub container_id: String,
    /// Container name (for DNS on other hosts).
    #[serde(default)]
    pub name: String,
    /// Container hostname.
    #[serde(default)]
    pub hostname: String,
    /// Network-scoped aliases.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// When the address was reserved (Unix seconds): a reservation that no
    /// container took after a grace time is released.
    pub reserved_at: u64,
}

/// A host of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRec {
    /// Its host name.
    pub name: String,
    /// Its tunnel endpoint (VTEP) address on the underlay.
    pub vtep: IpAddr,
    /// The underlay link and its MTU.
    pub underlay: String,
    /// MTU of the underlay link.
    pub mtu: u32,
}

/// One key-value pair read from the cluster store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// The lease it is attached to (0 = none).
    pub lease: i64,
}

/// A change under a watched prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// A put (the key holds `kv.value` now); false: a deletion.
    pub put: bool,
    /// The key and, for a put, its new value and lease.
    pub kv: Kv,
    /// The store's revision of the change.
    pub revision: i64,
}

/// What one wait on a watch saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// Changes, in the store's order.
    Events(Vec<Event>),
    /// Nothing within the time given.
    Quiet,
    /// The watch broke (its member went away or lost its leader, or the
    /// revision it was to start from was compacted): events may have been
    /// missed, the caller reads everything again.
    Broken,
}

/// The members of a `--store` / `BERTH_STORE` value
/// (`etcd://HOST:PORT[,HOST:PORT...]`, or `etcds://` for TLS), as `HOST:PORT`.
pub fn parse_url(url: &str) -> Option<Vec<String>> {
    super::etcd_config::parse_members(url).map(|(_, m)| m)
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_keys() {
        assert_eq!(
            parse_url("etcd://192.0.2.10:2379,192.0.2.11:2379"),
            Some(vec![
                "192.0.2.10:2379".to_string(),
                "192.0.2.11:2379".to_string()
            ])
        );
        assert_eq!(parse_url("http://x:2379"), None);
        assert_eq!(parse_url("etcd://"), None);
        assert_eq!(parse_url("etcd://noport"), None);
        let ip: IpAddr = "198.18.0.2".parse().expect("ip");
        assert_eq!(addr_key("n1", &ip), "/berth/v1/addrs/n1/198.18.0.2");
        assert!(addr_key("n1", &ip).starts_with(&addrs_prefix("n1")));
        assert!(addrs_prefix("n1").starts_with(&addrs_prefix("")));
    }
}
