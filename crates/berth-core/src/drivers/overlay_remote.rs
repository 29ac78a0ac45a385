//! Other hosts' endpoints of an overlay network, read from the cluster
//! store's address records (pure): the VXLAN device's entries
//! ([`remotes`]) and the names the embedded DNS serves ([`dns_endpoints`]),
//! which `berth agent` recomputes on every change.
//!
//! A record was written by another host, or by anyone who can write to the
//! etcd cluster, so it is checked before anything of it reaches the kernel
//! or the resolver. A record is skipped whole when its key is not
//! `addrs/<this network's id>/<an address of the network's subnets>`,
//! or names the gateway, the subnet's own address or its broadcast address
//! (an entry for the gateway would answer the containers' ARP for it with a
//! remote MAC); when its MAC is not a unicast Ethernet address; when its
//! tunnel endpoint is not a unicast IPv4 address; or when its name,
//! hostname or aliases are not DNS names (`model::validate`).

use super::overlay::Remote;
use super::overlay_records::{printable, vtep_ok, Rejected};
use crate::model::{validate, Network};
use crate::store::cluster::{addrs_prefix, AddrRec, Kv};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// A checked address record of another host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The endpoint's address (from the key).
    pub ip: IpAddr,
    /// The record.
    pub rec: AddrRec,
}

/// The checked records of network `net` that hosts other than `host` hold,
/// among `kvs` (a listing of the address keys).
pub fn entries(net: &Network, kvs: &[Kv], host: &str) -> Vec<Entry> {
    kvs.iter()
        .filter_map(|kv| check(net, kv).ok().flatten())
        .filter(|e| e.rec.host != host)
        .collect()
}

/// The address records of network `net` among `kvs` that are refused, and why.
pub fn rejected(net: &Network, kvs: &[Kv]) -> Vec<Rejected> {
    kvs.iter()
        .filter_map(|kv| check(net, kv).err().map(|why| Rejected::new(&kv.key, why)))
        .collect()
}

/// One address record: None when it is not `net`'s, the reason when it
/// is refused (see the module docs).
pub fn check(net: &Network, kv: &Kv) -> Result<Option<Entry>, String> {
    let Some(tail) = kv.key.strip_prefix(&addrs_prefix(&net.id)) else {
        return Ok(None);
    };
    let ip: IpAddr = tail
        .parse()
        .map_err(|_| "the key does not end in an address".to_string())?;
    if !endpoint_address(net, ip) {
        return Err(format!(
            "{ip} is not a container address of network {}",
            net.name
        ));
    }
    let rec: AddrRec =
        serde_json::from_str(&kv.value).map_err(|e| format!("not an address record: {e}"))?;
    record_ok(&rec)?;
    Ok(Some(Entry { ip, rec }))
}

/// The VXLAN entries network `net` needs on `host`: the other hosts' endpoints.
pub fn remotes(net: &Network, kvs: &[Kv], host: &str) -> BTreeSet<Remote> {
    entries(net, kvs, host).iter().map(remote).collect()
}

/// The other hosts' named endpoints of `net`, for the embedded DNS.
pub fn dns_endpoints(net: &Network, kvs: &[Kv], host: &str) -> Vec<berth_dns::EndpointRec> {
    entries(net, kvs, host)
        .iter()
        .filter_map(|e| dns_endpoint(net, e))
        .collect()
}

/// What the embedded DNS serves for checked record `e` of network `net`:
/// nothing for a record without a name.
pub fn dns_endpoint(net: &Network, e: &Entry) -> Option<berth_dns::EndpointRec> {
    if e.rec.name.is_empty() {
        return None;
    }
    Some(berth_dns::EndpointRec {
        container_id: e.rec.container_id.clone(),
        name: e.rec.name.clone(),
        hostname: e.rec.hostname.clone(),
        network_id: net.id.clone(),
        aliases: e.rec.aliases.clone(),
        ipv4: match e.ip {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        },
        ipv6: match e.ip {
            IpAddr::V6(v) => Some(v),
            IpAddr::V4(_) => None,
        },
        ..Default::default()
    })
}

/// The VXLAN entry checked record `e` needs.
pub fn remote(e: &Entry) -> Remote {
    Remote {
        ip: e.ip,
        mac: e.rec.mac.clone(),
        vtep: e.rec.vtep,
    }
}

/// True when `ip` may be a container's address on `net`: inside one of
/// its subnets, neither the gateway nor the subnet's first or last address.
pub fn endpoint_address(net: &Network, ip: IpAddr) -> bool {
    net.ipam.iter().any(|c| {
        let s = c.subnet;
        let tiny = s.addr().is_ipv4() && s.prefix_len() >= 31;
        s.contains(&ip) && c.gateway != ip && (tiny || (ip != s.network() && ip != s.broadcast()))
    })
}

/// The record's own fields, as described in the module docs.
fn record_ok(r: &AddrRec) -> Result<(), String> {
    if !vtep_ok(r.vtep) {
        return Err(format!(
            "tunnel endpoint {} is not a unicast IPv4 address",
            r.vtep
        ));
    }
    if !unicast_mac(&r.mac) {
        return Err(format!(
            "MAC {} is not a unicast Ethernet address",
            printable(&r.mac)
        ));
    }
    if r.container_id.len() > 64 || !r.container_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the container id is not hex digits".into());
    }
    let name_ok = |n: &str| n.is_empty() || validate::alias("name", n).is_ok();
    let names_ok = name_ok(&r.name)
        && (r.hostname.is_empty() || validate::hostname("hostname", &r.hostname).is_ok())
        && r.aliases.len() <= 64
        && r.aliases
            .iter()
            .all(|a| validate::alias("alias", a).is_ok());
    if !names_ok || r.host.len() > 64 || !r.host.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("a name, hostname, alias or host id is not valid".into());
    }
    Ok(())
}

/// `aa:bb:cc:dd:ee:ff` (hex digits), neither multicast nor all zeros.
pub fn unicast_mac(mac: &str) -> bool {
    let octets: Vec<&str> = mac.split(':').collect();
    let hex = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()));
    hex && u8::from_str_radix(octets[0], 16).is_ok_and(|b| b & 1 == 0)
        && octets.iter().any(|o| *o != "00")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's overlay network (198.18.0.0/24), under a short id.
    fn net() -> Network {
        Network {
            id: "n1".into(),
            ..crate::fuzzing::overlay_network()
        }
    }

    fn kv(ip: &str, value: &str) -> Kv {
        Kv {
            key: format!("/berth/v1/addrs/n1/{ip}"),
            value: value.into(),
            lease: 1,
        }
    }

    const GOOD: &str = r#"{"host":"h2","vtep":"192.0.2.12","mac":"02:42:c6:12:00:05","container_id":"ab12","name":"web","hostname":"web","aliases":["www"],"reserved_at":1}"#;

    #[test]
    fn good_records_of_other_hosts_are_used() {
        let kvs = [kv("198.18.0.5", GOOD)];
        let r = remotes(&net(), &kvs, "h1");
        assert_eq!(r.len(), 1);
        assert_eq!(dns_endpoints(&net(), &kvs, "h1")[0].name, "web");
        // This host's own records are not remote.
        assert!(remotes(&net(), &kvs, "h2").is_empty());
    }

    #[test]
    fn bad_keys_and_records_are_skipped() {
        let with = |field: &str, value: &str| {
            let mut v: serde_json::Value = serde_json::from_str(GOOD).expect("json");
            v[field] = serde_json::Value::String(value.into());
            v.to_string()
        };
        for kv in [
            kv("198.18.0.1", GOOD),   // the gateway
            kv("198.18.0.0", GOOD),   // the subnet
            kv("198.18.0.255", GOOD), // broadcast
            kv("203.0.113.5", GOOD),  // another subnet
            kv("198.18.0.5/x", GOOD),
            kv("198.18.0.5", &with("mac", "01:00:5e:00:00:01")),
            kv("198.18.0.5", &with("mac", "02:42:c6:12:00")),
            kv("198.18.0.5", &with("mac", "+2:42:c6:12:00:05")),
            kv("198.18.0.5", &with("vtep", "224.0.0.1")),
            kv("198.18.0.5", &with("vtep", "2001:db8::1")),
            kv("198.18.0.5", &with("name", "a b\n1.2.3.4 evil")),
            kv("198.18.0.5", &with("hostname", "-x")),
            kv("198.18.0.5", &with("container_id", "../../x")),
        ] {
            assert!(
                remotes(&net(), std::slice::from_ref(&kv), "h1").is_empty(),
                "{kv:?}"
            );
            assert!(dns_endpoints(&net(), std::slice::from_ref(&kv), "h1").is_empty());
            assert_eq!(
                rejected(&net(), std::slice::from_ref(&kv)).len(),
                1,
                "{kv:?}"
            );
        }
        // Other networks' keys are not this one's business.
        let other = Kv {
            key: "/berth/v1/addrs/n2/10.0.0.5".into(),
            value: "junk".into(),
            lease: 0,
        };
        assert!(rejected(&net(), &[other]).is_empty());
    }
}
