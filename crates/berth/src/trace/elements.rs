//! Which published-port map element a packet matches, in the live
//! `inet berth` table (pure, on its JSON listing): the element that decided
//! a DNAT.

use crate::doctor::ruleset::render_elem;
use ipnet::IpNet;
use serde_json::Value;
use std::net::IpAddr;

fn addr_matches(v: &Value, ip: IpAddr) -> bool {
    match v {
        Value::String(s) => s.parse::<IpAddr>().is_ok_and(|a| a == ip),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let net = format!("{}/{}", render_elem(&p["addr"]), render_elem(&p["len"]));
                return net.parse::<IpNet>().is_ok_and(|n| n.contains(&ip));
            }
            if let Some(Value::Array(r)) = o.get("range") {
                let lo = r
                    .first()
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<IpAddr>().ok());
                let hi = r
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<IpAddr>().ok());
                return matches!((lo, hi), (Some(l), Some(h)) if l <= ip && ip <= h);
            }
            false
        }
        _ => false,
    }
}

fn port_matches(v: &Value, port: u16) -> bool {
    match v {
        Value::Number(n) => n.as_u64() == Some(u64::from(port)),
        Value::String(s) => s.parse::<u16>().ok() == Some(port),
        Value::Object(o) => match o.get("range") {
            Some(Value::Array(r)) => {
                let b = |i: usize| r.get(i).and_then(Value::as_u64).unwrap_or(0);
                (b(0)..=b(1)).contains(&u64::from(port))
            }
            _ => false,
        },
        _ => false,
    }
}

/// The element of `ports4`/`ports4_keep` (or the IPv6 maps) matching a
/// packet to `dst:port` over `proto`, as `map: element`.
pub fn element_for(table: &Value, proto: &str, dst: IpAddr, port: u16) -> Option<String> {
    let maps: &[&str] = if dst.is_ipv6() {
        &["ports6", "ports6_keep"]
    } else {
        &["ports4", "ports4_keep"]
    };
    for item in table.get("nftables")?.as_array()? {
        let Some(m) = item.get("map") else { continue };
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        if !maps.contains(&name) {
            continue;
        }
        for e in m
            .get("elem")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(kv) = e.as_array() else { continue };
            let key = kv.first().map(|k| k.get("elem").map_or(k, |x| &x["val"]));
            let Some(Value::Array(parts)) = key.and_then(|k| k.get("concat")) else {
                continue;
            };
            if parts.len() == 3
                && addr_matches(&parts[0], dst)
                && parts[1].as_str() == Some(proto)
                && port_matches(&parts[2], port)
            {
                return Some(format!("{name}: {}", render_elem(e)));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_element_by_address_protocol_and_port() {
        let table = json!({"nftables": [
            {"map": {"name": "ports4", "elem": [
                [{"concat": [{"prefix": {"addr": "0.0.0.0", "len": 0}}, "tcp", 8080]}, {"concat": ["172.18.0.2", 80]}],
                [{"concat": ["127.0.0.1", "tcp", 8081]}, {"concat": ["172.18.0.3", 80]}]
            ]}},
            {"map": {"name": "ports4_keep", "elem": [
                [{"concat": [{"prefix": {"addr": "0.0.0.0", "len": 0}}, "udp", {"range": [9000, 9010]}]}, "172.18.0.4"]
            ]}}
        ]});
        let lab: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(
            element_for(&table, "tcp", lab, 8080).as_deref(),
            Some("ports4: 0.0.0.0/0 . tcp . 8080 : 172.18.0.2 . 80")
        );
        assert_eq!(element_for(&table, "tcp", lab, 8081), None);
        assert!(element_for(&table, "tcp", "127.0.0.1".parse().unwrap(), 8081).is_some());
        assert_eq!(
            element_for(&table, "udp", lab, 9005).as_deref(),
            Some("ports4_keep: 0.0.0.0/0 . udp . 9000-9010 : 172.18.0.4")
        );
    }
}
