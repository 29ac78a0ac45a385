//! What an endpoint record contributes to the index: its lookup keys
//! and its addresses (shared by indexing and by removing it again).

use std::net::IpAddr;

use super::Target;
use crate::names::config_key;
use crate::snapshot::EndpointRec;

/// The addresses of endpoint `ep`, as a name's target.
pub(super) fn target(ep: &EndpointRec) -> Target {
    Target {
        v4: ep.ipv4,
        v6: ep.ipv6,
    }
}

/// The lookup keys endpoint `ep` answers to on its network: its name,
/// hostname, short and full id and aliases, each once.
pub(super) fn endpoint_keys(ep: &EndpointRec) -> Vec<String> {
    let short_id = ep
        .container_id
        .get(..12)
        .filter(|_| ep.container_id.len() > 12);
    let mut keys: Vec<String> = [Some(ep.name.as_str()), Some(ep.hostname.as_str()), short_id]
        .into_iter()
        .flatten()
        .chain(std::iter::once(ep.container_id.as_str()))
        .chain(ep.aliases.iter().map(String::as_str))
        .filter_map(config_key)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// An endpoint's addresses.
pub(super) fn endpoint_addrs(ep: &EndpointRec) -> impl Iterator<Item = IpAddr> {
    let v4 = ep.ipv4.map(IpAddr::V4);
    let v6 = ep.ipv6.map(IpAddr::V6);
    v4.into_iter().chain(v6)
}
