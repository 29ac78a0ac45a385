//! The snapshot: everything the resolver knows, as written by berth's engine.
//!
//! The engine writes one JSON file (atomically: write a temporary file, then
//! rename) whenever a DNS-relevant record changes, then asks the running
//! resolver to reload it through the control socket (see [`crate::control`]).
//!
//! ```json
//! {"version": 2, "generation": 7,
//!  "host_upstreams": ["192.0.2.53"],
//!  "networks": [{"id": "…", "name": "appnet", "dns": true,
//!                "gateways": ["172.18.0.1", "fd00:1::1"],
//!                "internal": false, "subnets": ["172.18.0.0/16", "fd00:1::/64"]}],
//!  "endpoints": [{"container_id": "…", "name": "web", "hostname": "web",
//!                 "network_id": "…", "aliases": ["www"],
//!                 "ipv4": "172.18.0.2", "ipv6": "fd00:1::2", "external": true,
//!                 "dns": ["198.51.100.53"], "dns_search": [], "dns_options": []}]}
//! ```
//!
//! ## Versions and upgrades
//!
//! People upgrade berth under running containers, so for a while an older
//! resolver process may read a newer snapshot, or a newer resolver an older
//! one. The format only ever grows: every field added later has a default,
//! and unknown fields are ignored.
//!
//! - version 1 (no `version` field): networks and endpoints as above
//!   without `internal`, `subnets` and `external`;
//! - version 2: adds `internal` and `subnets` on
//!   networks and `external` on endpoints, which the resolver needs not to
//!   forward for containers confined to `--internal` networks;
//! - version 3 ([`SNAPSHOT_VERSION`]): the same file, plus the journal of
//!   changes beside it ([`crate::journal`]), which a reload reads too. A
//!   version-2 resolver would not, so `reload 3` replaces it.
//!
//! A version-2 resolver reading a version-1 snapshot still answers only the
//! endpoints it lists (their addresses were always there) and forwards for
//! every one of them, as before: it never refuses everyone for lack of the
//! new fields. A version-1 resolver reading a version-2 snapshot behaves as
//! version 1 did; the engine replaces such a resolver on its next reload
//! (see [`crate::control`]: `reload 2` is a request it does not know).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The standard DNS port, used for upstreams given without a port.
pub const DNS_PORT: u16 = 53;

/// The snapshot format this resolver writes and fully understands.
pub const SNAPSHOT_VERSION: u32 = 3;

/// Everything the resolver serves, at one point in time. Its `Default` is
/// an empty snapshot of the current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version (see the module doc); absent in version 1.
    #[serde(default = "version_one")]
    pub version: u32,
    /// Increases with every snapshot the engine writes; echoed by `reload`.
    #[serde(default)]
    pub generation: u64,
    /// Resolvers for names that are not containers' (the host's, minus
    /// loopback ones), used when the asking endpoint has no `dns` servers.
    #[serde(default)]
    pub host_upstreams: Vec<Upstream>,
    /// Networks; only those with `dns: true` are served.
    #[serde(default)]
    pub networks: Vec<NetworkRec>,
    /// One record per (container, network) attachment.
    #[serde(default)]
    pub endpoints: Vec<EndpointRec>,
}

/// A network, as far as DNS cares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRec {
    /// Full network id (64 hex characters).
    pub id: String,
    /// Network name, as used in `name.network` queries.
    pub name: String,
    /// Whether the embedded DNS serves this network (user-defined bridge
    /// networks: yes; the default `bridge` network: no). Defaults to `false`.
    #[serde(default)]
    pub dns: bool,
    /// Gateway addresses: where the resolver listens for this network.
    #[serde(default)]
    pub gateways: Vec<IpAddr>,
    /// `--internal`: nothing leaves the network, so the resolver does not
    /// forward for containers that are only on such networks (version 2;
    /// defaults to `false`).
    #[serde(default)]
    pub internal: bool,
    /// The network's subnets (version 2): a container confined to internal
    /// networks may still be forwarded to an upstream inside one of them,
    /// which it could reach itself (Docker's rule).
    #[serde(default)]
    pub subnets: Vec<IpNet>,
}

/// A container's attachment to one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRec {
    /// Full container id (64 hex characters); its first 12 are the short id.
    pub container_id: String,
    /// Container name (without Docker's leading `/`).
    pub name: String,
    /// The container's hostname, if any (empty means none).
    #[serde(default)]
    pub hostname: String,
    /// Id of the network this endpoint is on.
    pub network_id: String,
    /// Network-scoped aliases (`--network-alias`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The endpoint's IPv4 address, if any.
    #[serde(default)]
    pub ipv4: Option<Ipv4Addr>,
    /// The endpoint's IPv6 address, if any.
    #[serde(default)]
    pub ipv6: Option<Ipv6Addr>,
    /// Whether the container reaches beyond its networks: it has an
    /// endpoint on a network that is not `--internal`, DNS-enabled or not
    /// (version 2). Forwarding is only for such containers. Absent: derived
    /// from the `internal` flags of the container's networks in this
    /// snapshot (so every container of a version-1 snapshot forwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// The container's `--dns` servers; when non-empty they replace
    /// `host_upstreams` for this container's forwarded queries.
    #[serde(default)]
    pub dns: Vec<Upstream>,
    /// The container's `--dns-search` domains (for resolv.conf; unused here).
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// The container's `--dns-option`s (for resolv.conf; unused here).
    #[serde(default)]
    pub dns_options: Vec<String>,
}

/// An upstream resolver: `"192.0.2.53"`, `"2001:db8::53"` (port 53), or
/// with an explicit port, `"127.0.0.1:5353"` / `"[::1]:5353"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Upstream(pub SocketAddr);

impl FromStr for Upstream {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Upstream(SocketAddr::new(ip, DNS_PORT)));
        }
        s.parse::<SocketAddr>()
            .map(Upstream)
            .map_err(|_| format!("invalid upstream resolver address {s:?}"))
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.port() == DNS_PORT {
            write!(f, "{}", self.0.ip())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl From<IpAddr> for Upstream {
    fn from(ip: IpAddr) -> Self {
        Upstream(SocketAddr::new(ip, DNS_PORT))
    }
}

impl From<SocketAddr> for Upstream {
    fn from(addr: SocketAddr) -> Self {
        Upstream(addr)
    }
}

impl Serialize for Upstream {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Upstream {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn version_one() -> u32 {
    1
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            version: SNAPSHOT_VERSION,
            generation: 0,
            host_upstreams: Vec::new(),
            networks: Vec::new(),
            endpoints: Vec::new(),
        }
    }
}

impl Snapshot {
    /// Parses a snapshot from JSON text.
    pub fn from_json(text: &str) -> Result<Snapshot, Error> {
        serde_json::from_str(text).map_err(Error::SnapshotParse)
    }

    /// Reads a snapshot file. A missing file is an empty snapshot
    /// (generation 0: no networks yet), so the resolver may start first.
    pub fn load(path: &Path) -> Result<Snapshot, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Snapshot::from_json(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Snapshot::default()),
            Err(e) => Err(Error::SnapshotRead(path.to_path_buf(), e)),
        }
    }

    /// Writes the snapshot atomically (temporary file + rename); for tests
    /// and tools. The engine may use it too.
    pub fn store(&self, path: &Path) -> Result<(), Error> {
        let text = serde_json::to_vec_pretty(self).map_err(Error::SnapshotParse)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, text).map_err(|e| Error::SnapshotWrite(tmp.clone(), e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::SnapshotWrite(path.to_path_buf(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let s = Snapshot::from_json(
            r#"{"generation": 7, "host_upstreams": ["192.0.2.53"],
             "networks": [{"id": "n1", "name": "appnet", "dns": true,
                           "gateways": ["172.18.0.1", "fd00:1::1"]}],
             "endpoints": [{"container_id": "c1", "name": "web", "hostname": "web",
                            "network_id": "n1", "aliases": ["www"], "ipv4": "172.18.0.2",
                            "ipv6": "fd00:1::2", "dns": ["198.51.100.53"],
                            "dns_search": [], "dns_options": []}]}"#,
        )
        .unwrap();
        assert_eq!(s.generation, 7);
        assert_eq!(s.host_upstreams[0].0, "192.0.2.53:53".parse().unwrap());
        assert_eq!(s.networks[0].gateways.len(), 2);
        assert_eq!(s.endpoints[0].ipv6, Some("fd00:1::2".parse().unwrap()));
    }

    #[test]
    fn defaults_and_upstream_forms() {
        let s = Snapshot::from_json(
            r#"{"networks": [{"id": "n", "name": "x"}],
                "endpoints": [{"container_id": "c", "name": "a", "network_id": "n",
                               "dns": ["127.0.0.1:5353", "[::1]:54", "2001:db8::1"]}]}"#,
        )
        .unwrap();
        assert!(!s.networks[0].dns);
        let dns: Vec<String> = s.endpoints[0].dns.iter().map(|u| u.to_string()).collect();
        assert_eq!(dns, ["127.0.0.1:5353", "[::1]:54", "2001:db8::1"]);
        assert!(Snapshot::from_json(r#"{"host_upstreams": ["nope"]}"#).is_err());
    }
}
