//! The cluster store's network and host records, checked before berth uses
//! them (pure). Anyone who can write to the etcd cluster can write them, so
//! nothing of a record reaches a local network record, the kernel or a
//! message unchecked: a network record is rebuilt from its checked fields
//! (its bridge name, options and flags are berth's, never the record's),
//! and a host record's tunnel endpoint must be a unicast address. A record
//! that fails is skipped and reported as a [`Rejected`] (the agent's log
//! and `berth doctor`). Address records are checked in `overlay_remote`.

use super::opts::VNI;
use super::overlay::{bridge_name, VXLAN_OVERHEAD};
use crate::ids;
use crate::model::network::opt;
use crate::model::{Driver, IpamConfig, Network};
use crate::store::cluster::{host_key, hosts_prefix, networks_prefix, HostRec, Kv};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A record of the cluster store that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rejected {
    /// Its key.
    pub key: String,
    /// What is wrong with it.
    pub why: String,
}

impl Rejected {
    /// A rejection of `key`.
    pub fn new(key: &str, why: impl Into<String>) -> Rejected {
        Rejected {
            key: printable(key),
            why: why.into(),
        }
    }
}

/// `s` with anything but printable ASCII escaped, for logs and messages.
pub fn printable(s: &str) -> String {
    let s: String = s.chars().take(200).collect();
    if s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        s
    } else {
        s.escape_default().to_string()
    }
}

/// True for a 64-hex-digit id as berth makes them.
pub fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A tunnel endpoint: a unicast IPv4 address (berth's underlay is IPv4).
pub fn vtep_ok(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_broadcast()
                || v.is_link_local())
        }
        IpAddr::V6(_) => false,
    }
}

/// The overlay networks among `kvs` (a listing of the networks' prefix),
/// each rebuilt from its checked fields, and the records refused.
pub fn networks(kvs: &[Kv]) -> (Vec<Network>, Vec<Rejected>) {
    let mut nets = Vec::new();
    let mut bad = Vec::new();
    for kv in kvs {
        match network(kv) {
            Ok(n) => nets.push(n),
            Err(why) => bad.push(Rejected::new(&kv.key, why)),
        }
    }
    (nets, bad)
}

/// One network record, checked and rebuilt.
pub fn network(kv: &Kv) -> Result<Network, String> {
    let id = kv
        .key
        .strip_prefix(&networks_prefix())
        .filter(|id| is_id(id))
        .ok_or("the key does not end in a network id (64 hex digits)")?;
    let rec: Network =
        serde_json::from_str(&kv.value).map_err(|e| format!("not a network record: {e}"))?;
    if rec.id != id {
        return Err(format!("its id {} is not its key's", printable(&rec.id)));
    }
    ids::validate_name("network", &rec.name).map_err(|e| e.to_string())?;
    if rec.driver != Driver::Overlay || rec.builtin || rec.owner.is_some() || rec.docker.is_some() {
        return Err("not an overlay network of berth's".into());
    }
    let vni: u32 = rec
        .options
        .get(VNI)
        .and_then(|v| v.parse().ok())
        .filter(|v| (1..1 << 24).contains(v))
        .ok_or("no VNI between 1 and 16777215")?;
    if let Some(k) = rec.options.keys().find(|k| *k != VNI && *k != opt::MTU) {
        return Err(format!("unexpected option {}", printable(k)));
    }
    let min = if rec.ipv6 { 1280 } else { 576 };
    if !(min..=65535 - VXLAN_OVERHEAD).contains(&rec.mtu) {
        return Err(format!("MTU {} out of range", rec.mtu));
    }
    check_ipam(&rec)?;
    if rec.labels.len() > 64 || rec.labels.iter().any(|(k, v)| !label_ok(k) || !label_ok(v)) {
        return Err("labels with control characters or too long".into());
    }
    let mut options = std::collections::BTreeMap::new();
    options.insert(VNI.to_string(), vni.to_string());
    if rec.options.contains_key(opt::MTU) {
        options.insert(opt::MTU.to_string(), rec.mtu.to_string());
    }
    Ok(Network {
        options,
        bridge: Some(bridge_name(id)),
        icc: true,
        masquerade: true,
        host_binding_ipv4: None,
        created: printable(&rec.created),
        ..rec
    })
}

fn label_ok(s: &str) -> bool {
    s.len() <= 1024 && !s.chars().any(char::is_control)
}

/// The network's subnets: one IPv4, at most one IPv6 (and only with
/// `ipv6`); none a loopback, multicast or link-local range; the gateway,
/// range and auxiliary addresses inside.
fn check_ipam(rec: &Network) -> Result<(), String> {
    let v4 = rec
        .ipam
        .iter()
        .filter(|c| c.subnet.addr().is_ipv4())
        .count();
    let v6 = rec.ipam.len() - v4;
    if v4 != 1 || v6 > 1 || (v6 == 1) != rec.ipv6 {
        return Err("expected one IPv4 subnet and, with IPv6 on, one IPv6 subnet".into());
    }
    rec.ipam.iter().try_for_each(check_subnet)
}

fn check_subnet(c: &IpamConfig) -> Result<(), String> {
    let s = c.subnet;
    let special = match s {
        IpNet::V4(n) => {
            let a = n.network();
            a.is_loopback()
                || a.is_multicast()
                || a.is_link_local()
                || a.is_unspecified()
                || n.prefix_len() > 30
                || n.prefix_len() < 8
        }
        IpNet::V6(n) => {
            let a = n.network();
            a.is_loopback()
                || a.is_multicast()
                || a.is_unspecified()
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || n.prefix_len() > 124
                || n.prefix_len() < 48
        }
    };
    if special || s.trunc() != s {
        return Err(format!("subnet {s} is not a usable container subnet"));
    }
    let inside = |ip: &IpAddr| s.contains(ip) && *ip != s.network() && *ip != s.broadcast();
    let range_ok = c.ip_range.is_none_or(|r| s.contains(&r));
    let bounds_ok = [c.range_start, c.range_end].iter().flatten().all(inside);
    if !inside(&c.gateway) || !range_ok || !bounds_ok || !c.aux.values().all(inside) {
        return Err(format!(
            "gateway, range or auxiliary address outside subnet {s}"
        ));
    }
    Ok(())
}

/// The hosts among `kvs` (a listing of the hosts' prefix), and the
/// records refused.
pub fn hosts(kvs: &[Kv]) -> (Vec<(String, HostRec)>, Vec<Rejected>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for kv in kvs {
        match host(kv) {
            Ok(h) => ok.push(h),
            Err(why) => bad.push(Rejected::new(&kv.key, why)),
        }
    }
    (ok, bad)
}

/// One host record, checked: (host id, record).
pub fn host(kv: &Kv) -> Result<(String, HostRec), String> {
    let id = kv
        .key
        .strip_prefix(&hosts_prefix())
        .filter(|id| is_id(id))
        .ok_or("the key does not end in a host id (64 hex digits)")?;
    debug_assert_eq!(host_key(id), kv.key);
    let rec: HostRec =
        serde_json::from_str(&kv.value).map_err(|e| format!("not a host record: {e}"))?;
    if !vtep_ok(rec.vtep) {
        return Err(format!(
            "tunnel endpoint {} is not a unicast IPv4 address",
            rec.vtep
        ));
    }
    let name_ok =
        rec.name.is_empty() || crate::model::validate::hostname("host", &rec.name).is_ok();
    if !name_ok || !ids::ifname_ok(&rec.underlay) || !(576..=65535).contains(&rec.mtu) {
        return Err("bad host name, underlay link name or MTU".into());
    }
    Ok((id.to_string(), rec))
}

#[cfg(test)]
#[path = "overlay_records_tests.rs"]
mod tests;
