//! The `ipam` section. berth allocates addresses itself, from its store
//! (shared with `berth run`), so it reads `host-local`'s keys rather than
//! delegating to an IPAM plugin:
//!
//! - no `ipam` key: the subnets of the existing berth network, or a subnet
//!   from the default pools when the network does not exist yet;
//! - `"ipam": {}` (empty): the addresses of `prevResult` (berth after
//!   another plugin that chose them, e.g. `static` or `host-local` run as a
//!   chained plugin);
//! - `"ipam": {"type": "host-local", "ranges": [...], "routes": [...]}` (or
//!   the old single-range `subnet`/`rangeStart`/`rangeEnd`/`gateway`).

use crate::error::{code, CniError};
use crate::json::{invalid, parse_net, Fields};
use ipnet::IpNet;
use serde_json::Value;
use std::net::IpAddr;

/// Where an attachment's addresses come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipam {
    /// No `ipam` key: the network's subnets (default pools for a new one).
    Network,
    /// `"ipam": {}`: the addresses of `prevResult`.
    PrevResult,
    /// `host-local`'s keys.
    HostLocal(HostLocal),
}

/// `host-local`'s configuration, as berth reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostLocal {
    /// One range per address family (berth allocates one address per
    /// range set, and one range per set).
    pub ranges: Vec<Range>,
    /// Routes in the container (`gw` absent = the range's gateway).
    pub routes: Vec<Route>,
    /// `resolvConf`: a file whose `nameserver`/`search`/`options` lines
    /// become the result's `dns`.
    pub resolv_conf: Option<String>,
}

/// A subnet with its gateway and the part of it handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The subnet (no host bits).
    pub subnet: IpNet,
    /// Its gateway (default: the first address).
    pub gateway: Option<IpAddr>,
    /// First address handed out (inclusive).
    pub range_start: Option<IpAddr>,
    /// Last address handed out (inclusive).
    pub range_end: Option<IpAddr>,
}

/// A route: destination and optional next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination (`0.0.0.0/0` for a default route).
    pub dst: IpNet,
    /// Next hop; `None` = the gateway of the address of that family.
    pub gw: Option<IpAddr>,
}

fn unsupported(key: &str, value: &Value, why: &str) -> CniError {
    CniError::new(
        code::UNSUPPORTED_FIELD,
        format!("unsupported field {key}"),
        format!("{key} = {value}: {why}; nothing was changed"),
    )
}

/// Reads the `ipam` value.
pub(crate) fn parse(v: &Value) -> Result<Ipam, CniError> {
    let mut f = Fields::of(v, "ipam")?;
    if f.is_empty() {
        return Ok(Ipam::PrevResult);
    }
    if let Some(t) = f.str("type")? {
        if t != "host-local" && t != "berth" {
            return Err(unsupported(
                "ipam.type",
                &Value::from(t),
                "berth allocates addresses itself: use host-local's keys (ranges, routes), \"ipam\": {} to take prevResult's addresses, or no ipam for the network's subnets",
            ));
        }
    }
    let mut ranges: Vec<Range> = Vec::new();
    if v.get("subnet").is_some() {
        ranges.push(range_of(&mut f, "ipam")?);
    }
    for (i, set) in f.array("ranges")?.iter().enumerate() {
        let key = format!("ipam.ranges[{i}]");
        match set.as_array().map(Vec::as_slice) {
            Some([one]) => ranges.push(range(one, &format!("{key}[0]"))?),
            Some(_) => {
                return Err(unsupported(
                    &key,
                    set,
                    "berth takes one range per range set (one address per family)",
                ))
            }
            None => return Err(crate::json::wrong_type(&key, "an array of ranges", set)),
        }
    }
    check_families(&ranges)?;
    let routes = f
        .array("routes")?
        .iter()
        .map(|r| route(r, "ipam.routes[]"))
        .collect::<Result<_, _>>()?;
    let resolv_conf = f.str("resolvConf")?.map(String::from);
    // host-local's lease directory: berth's store holds the leases.
    f.ignore(&["dataDir"]);
    f.finish(|_| false)?;
    Ok(Ipam::HostLocal(HostLocal {
        ranges,
        routes,
        resolv_conf,
    }))
}

fn check_families(ranges: &[Range]) -> Result<(), CniError> {
    for v6 in [false, true] {
        if ranges
            .iter()
            .filter(|r| r.subnet.addr().is_ipv6() == v6)
            .count()
            > 1
        {
            return Err(CniError::new(
                code::UNSUPPORTED_FIELD,
                "unsupported field ipam.ranges",
                format!(
                    "more than one IPv{} range set: a berth network has one subnet per address family; nothing was changed",
                    if v6 { 6 } else { 4 }
                ),
            ));
        }
    }
    Ok(())
}

/// Reads one range object of `ranges`.
fn range(v: &Value, path: &str) -> Result<Range, CniError> {
    let mut f = Fields::of(v, path)?;
    let r = range_of(&mut f, path)?;
    f.finish(|_| false)?;
    Ok(r)
}

/// Reads one range's keys (`subnet`, `gateway`, `rangeStart`, `rangeEnd`)
/// from `f` and checks them the way host-local does.
fn range_of(f: &mut Fields, path: &str) -> Result<Range, CniError> {
    let key = f.name("subnet");
    let text = f
        .str("subnet")?
        .ok_or_else(|| invalid(&key, format!("{key} is missing")))?;
    let subnet = parse_net(text, &key)?;
    if subnet.trunc() != subnet {
        return Err(invalid(
            &key,
            format!(
                "{key} {subnet} has host bits set: did you mean {}?",
                subnet.trunc()
            ),
        ));
    }
    if subnet.prefix_len() + 2 > subnet.max_prefix_len() {
        return Err(invalid(
            &key,
            format!("network {subnet} too small to allocate from"),
        ));
    }
    let r = Range {
        subnet,
        gateway: f.ip("gateway")?,
        range_start: f.ip("rangeStart")?,
        range_end: f.ip("rangeEnd")?,
    };
    for (name, ip) in [
        ("gateway", r.gateway),
        ("rangeStart", r.range_start),
        ("rangeEnd", r.range_end),
    ] {
        if let Some(ip) = ip.filter(|ip| !subnet.contains(ip)) {
            let k = f.name(name);
            return Err(invalid(&k, format!("{k} {ip} is not in network {subnet}")));
        }
    }
    if let (Some(a), Some(b)) = (r.range_start, r.range_end) {
        if a > b {
            return Err(invalid(
                path,
                format!("rangeStart {a} is after rangeEnd {b}"),
            ));
        }
    }
    Ok(r)
}

/// Reads a route `{dst, gw}`.
pub(crate) fn route(v: &Value, path: &str) -> Result<Route, CniError> {
    let mut f = Fields::of(v, path)?;
    let key = f.name("dst");
    let dst = f
        .str("dst")?
        .ok_or_else(|| invalid(&key, format!("{key} is missing")))?;
    let dst = parse_net(dst, &key)?.trunc();
    let gw = f.ip("gw")?;
    if gw.is_some_and(|g| g.is_ipv4() != dst.addr().is_ipv4()) {
        return Err(invalid(
            path,
            format!("route to {dst} via a gateway of another family"),
        ));
    }
    f.finish(|_| false)?;
    Ok(Route { dst, gw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms() {
        assert_eq!(parse(&json!({})).unwrap(), Ipam::PrevResult);
        let Ipam::HostLocal(h) = parse(&json!({
            "type": "host-local",
            "subnet": "10.1.0.0/24", "rangeStart": "10.1.0.10", "rangeEnd": "10.1.0.20",
            "ranges": [[{"subnet": "fd00:1::/64", "gateway": "fd00:1::fe"}]],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.0.2.0/24", "gw": "10.1.0.254"}],
            "dataDir": "/var/lib/cni/networks"
        }))
        .unwrap() else {
            panic!()
        };
        assert_eq!(h.ranges.len(), 2);
        assert_eq!(h.ranges[0].range_start, Some("10.1.0.10".parse().unwrap()));
        assert_eq!(h.ranges[1].gateway, Some("fd00:1::fe".parse().unwrap()));
        assert_eq!(h.routes[1].gw, Some("10.1.0.254".parse().unwrap()));
    }

    #[test]
    fn errors() {
        let cases = [
            (json!({"type": "dhcp"}), code::UNSUPPORTED_FIELD, "dhcp"),
            (
                json!({"subnet": "10.1.0.5/24"}),
                code::INVALID_CONFIG,
                "10.1.0.0/24",
            ),
            (
                json!({"subnet": "10.1.0.0/31"}),
                code::INVALID_CONFIG,
                "too small",
            ),
            (
                json!({"subnet": "10.1.0.0/24", "gateway": "10.2.0.1"}),
                code::INVALID_CONFIG,
                "10.2.0.1",
            ),
            (
                json!({"ranges": [[{"subnet": "10.1.0.0/24"}, {"subnet": "10.2.0.0/24"}]]}),
                code::UNSUPPORTED_FIELD,
                "one range",
            ),
            (
                json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.2.0.0/24"}]]}),
                code::UNSUPPORTED_FIELD,
                "IPv4",
            ),
            (
                json!({"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.9", "rangeEnd": "10.1.0.2"}),
                code::INVALID_CONFIG,
                "after",
            ),
            (
                json!({"subnet": "10.1.0.0/24", "nope": 1}),
                code::UNSUPPORTED_FIELD,
                "ipam.nope",
            ),
            (
                json!({"routes": [{"dst": "0.0.0.0/0", "gw": "fd00::1"}]}),
                code::INVALID_CONFIG,
                "family",
            ),
            (json!({"ranges": "x"}), code::DECODE, "ranges"),
        ];
        for (v, want, needle) in cases {
            let e = parse(&v).unwrap_err();
            assert_eq!(e.code, want, "{v}: {e}");
            assert!(e.to_string().contains(needle), "{v}: {e}");
        }
    }
}
