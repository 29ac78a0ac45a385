//! `runtimeConfig`: the capability arguments a runtime fills in per
//! attachment (CONVENTIONS.md): `portMappings`, `ips`, `mac`, `bandwidth`,
//! `dns` and `aliases`.

use crate::error::{code, CniError};
use crate::json::{invalid, parse_ip, parse_ip_maybe_prefix, wrong_type, Fields};
use serde_json::Value;
use std::net::IpAddr;

/// One `portMappings` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// Port on the host.
    pub host_port: u16,
    /// Port in the container.
    pub container_port: u16,
    /// `tcp` or `udp` (lower case).
    pub protocol: String,
    /// Host address to bind; `None` = every address.
    pub host_ip: Option<IpAddr>,
}

/// `bandwidth`: rates in bits per second, bursts in bits (0 = no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bandwidth {
    /// Traffic into the container.
    pub ingress_rate: u64,
    /// Its burst.
    pub ingress_burst: u64,
    /// Traffic out of the container.
    pub egress_rate: u64,
    /// Its burst.
    pub egress_burst: u64,
}

impl Bandwidth {
    /// True when no limit is set.
    pub fn is_zero(&self) -> bool {
        *self == Bandwidth::default()
    }
}

/// `dns` as a runtime passes it (`servers`, `searches`, `options`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeDns {
    /// Name servers.
    pub servers: Vec<String>,
    /// Search domains.
    pub searches: Vec<String>,
    /// Resolver options.
    pub options: Vec<String>,
}

/// The capability arguments berth acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Published ports.
    pub port_mappings: Vec<PortMapping>,
    /// Requested addresses.
    pub ips: Vec<IpAddr>,
    /// Requested MAC of the container interface.
    pub mac: Option<String>,
    /// Traffic shaping.
    pub bandwidth: Option<Bandwidth>,
    /// DNS settings for the result.
    pub dns: Option<RuntimeDns>,
    /// Names other containers on the network may use for this one.
    pub aliases: Vec<String>,
}

fn to_strings(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(String::from).collect()
}

/// Reads `runtimeConfig`. Capabilities berth does not implement are
/// refused only when they would change the outcome (`ipRanges`).
pub(crate) fn parse(v: &Value) -> Result<RuntimeConfig, CniError> {
    let mut f = Fields::of(v, "runtimeConfig")?;
    if let Some(r) = f
        .get("ipRanges")
        .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
    {
        return Err(CniError::new(
            code::UNSUPPORTED_FIELD,
            "unsupported field runtimeConfig.ipRanges",
            format!("runtimeConfig.ipRanges = {r}: berth allocates from the network's subnets; give ranges in ipam"),
        ));
    }
    let port_mappings = f
        .array("portMappings")?
        .iter()
        .map(port_mapping)
        .collect::<Result<_, _>>()?;
    let ips = f
        .strings("ips")?
        .into_iter()
        .map(|s| parse_ip_maybe_prefix(s, "runtimeConfig.ips"))
        .collect::<Result<_, _>>()?;
    let mac = f.str("mac")?.filter(|m| !m.is_empty()).map(String::from);
    if let Some(m) = &mac {
        check_mac(m, "runtimeConfig.mac")?;
    }
    let bandwidth = f.get("bandwidth").map(bandwidth).transpose()?;
    let dns = match f.get("dns") {
        None => None,
        Some(d) => {
            let mut g = Fields::of(d, "runtimeConfig.dns")?;
            let dns = RuntimeDns {
                servers: to_strings(g.strings("servers")?),
                searches: to_strings(g.strings("searches")?),
                options: to_strings(g.strings("options")?),
            };
            g.finish(|_| true)?;
            Some(dns)
        }
    };
    let aliases = to_strings(f.strings("aliases")?);
    // Anything else is a capability of another plugin in the chain.
    f.finish(|_| true)?;
    Ok(RuntimeConfig {
        port_mappings,
        ips,
        mac,
        bandwidth,
        dns,
        aliases,
    })
}

/// Checks a MAC address `aa:bb:cc:dd:ee:ff`.
pub(crate) fn check_mac(m: &str, key: &str) -> Result<(), CniError> {
    let parts: Vec<&str> = m.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && u8::from_str_radix(p, 16).is_ok());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("{key} {m:?} is not a MAC address like 02:42:0a:01:00:05"),
        ))
    }
}

fn port(f: &mut Fields, key: &str) -> Result<u16, CniError> {
    let name = f.name(key);
    match f.u64(key)? {
        Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Some(p) => Err(invalid(
            &name,
            format!("{name} {p} is not a port (1 to 65535)"),
        )),
        None => Err(invalid(&name, format!("{name} is missing"))),
    }
}

fn port_mapping(v: &Value) -> Result<PortMapping, CniError> {
    let mut f = Fields::of(v, "runtimeConfig.portMappings[]")?;
    let host_port = port(&mut f, "hostPort")?;
    let container_port = port(&mut f, "containerPort")?;
    let protocol = f.str("protocol")?.unwrap_or("tcp").to_ascii_lowercase();
    match protocol.as_str() {
        "tcp" | "udp" | "" => {}
        other => {
            return Err(CniError::new(
                code::UNSUPPORTED_FIELD,
                "unsupported field runtimeConfig.portMappings[].protocol",
                format!(
                "protocol = {other:?}: berth publishes tcp and udp ports (this kernel has no SCTP)"
            ),
            ))
        }
    }
    let host_ip = match f.str("hostIP")? {
        None | Some("") => None,
        Some(ip) => Some(parse_ip(ip, "runtimeConfig.portMappings[].hostIP")?),
    };
    f.finish(|_| true)?;
    Ok(PortMapping {
        host_port,
        container_port,
        protocol: if protocol.is_empty() {
            "tcp".into()
        } else {
            protocol
        },
        host_ip,
    })
}

fn bandwidth(v: &Value) -> Result<Bandwidth, CniError> {
    let mut f = Fields::of(v, "runtimeConfig.bandwidth")?;
    let mut get = |k: &str| f.u64(k).map(Option::unwrap_or_default);
    let b = Bandwidth {
        ingress_rate: get("ingressRate")?,
        ingress_burst: get("ingressBurst")?,
        egress_rate: get("egressRate")?,
        egress_burst: get("egressBurst")?,
    };
    f.finish(|_| false)?;
    for (dir, rate, burst) in [
        ("ingress", b.ingress_rate, b.ingress_burst),
        ("egress", b.egress_rate, b.egress_burst),
    ] {
        let key = format!("runtimeConfig.bandwidth.{dir}");
        if (rate == 0) != (burst == 0) {
            return Err(invalid(
                &key,
                format!("{dir}Rate and {dir}Burst go together: set both or neither"),
            ));
        }
        if burst / 8 >= u64::from(u32::MAX) {
            return Err(invalid(
                &key,
                format!("{dir}Burst cannot be more than 4 GB"),
            ));
        }
    }
    Ok(b)
}

/// Reads `args.cni.ips` and `args.cni.mac` (other `args` are metadata for
/// whoever wants them, ignored as the conventions require).
pub(crate) fn args(v: &Value) -> Result<(Vec<IpAddr>, Option<String>), CniError> {
    let Some(cni) = v.get("cni").filter(|c| !c.is_null()) else {
        return Ok((Vec::new(), None));
    };
    let mut f = Fields::of(cni, "args.cni")?;
    let ips = f
        .strings("ips")?
        .into_iter()
        .map(|s| parse_ip_maybe_prefix(s, "args.cni.ips"))
        .collect::<Result<_, _>>()?;
    let mac = match f.get("mac") {
        None => None,
        Some(Value::String(m)) if m.is_empty() => None,
        Some(Value::String(m)) => {
            check_mac(m, "args.cni.mac")?;
            Some(m.clone())
        }
        Some(other) => return Err(wrong_type("args.cni.mac", "a string", other)),
    };
    Ok((ips, mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_capabilities() {
        let r = parse(&json!({
            "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "TCP"},
                             {"hostPort": 53, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"}],
            "ips": ["10.1.0.9/24", "fd00::9"],
            "mac": "02:00:00:00:00:09",
            "bandwidth": {"ingressRate": 1000000, "ingressBurst": 80000},
            "dns": {"servers": ["192.0.2.53"], "searches": ["svc"]},
            "aliases": ["db"],
            "somethingForTheNextPlugin": true
        }))
        .unwrap();
        assert_eq!(r.port_mappings[0].protocol, "tcp");
        assert_eq!(
            r.port_mappings[1].host_ip,
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(r.ips.len(), 2);
        assert_eq!(r.bandwidth.unwrap().ingress_rate, 1_000_000);
        assert_eq!(r.aliases, ["db"]);
    }

    #[test]
    fn errors() {
        let cases = [
            (
                json!({"portMappings": [{"hostPort": 0, "containerPort": 80}]}),
                code::INVALID_CONFIG,
            ),
            (
                json!({"portMappings": [{"hostPort": 70000, "containerPort": 80}]}),
                code::INVALID_CONFIG,
            ),
            (
                json!({"portMappings": [{"hostPort": 1, "containerPort": 80, "protocol": "sctp"}]}),
                code::UNSUPPORTED_FIELD,
            ),
            (
                json!({"portMappings": [{"hostPort": "1", "containerPort": 80}]}),
                code::DECODE,
            ),
            (json!({"ips": ["10.1.0.300"]}), code::INVALID_CONFIG),
            (json!({"mac": "zz"}), code::INVALID_CONFIG),
            (
                json!({"bandwidth": {"ingressRate": 5}}),
                code::INVALID_CONFIG,
            ),
            (json!({"bandwidth": {"typo": 5}}), code::UNSUPPORTED_FIELD),
            (
                json!({"ipRanges": [[{"subnet": "10.0.0.0/24"}]]}),
                code::UNSUPPORTED_FIELD,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(parse(&v).unwrap_err().code, want, "{v}");
        }
        assert_eq!(
            args(&json!({"cni": {"ips": ["10.0.0.4"]}}))
                .unwrap()
                .0
                .len(),
            1
        );
        assert_eq!(
            args(&json!({"cni": {"mac": 5}})).unwrap_err().code,
            code::DECODE
        );
    }
}
