//! The values of `run`'s network flags (pure): Docker 25's per-network
//! `--network name=N,alias=A,ip=...` form, `--expose`, `--sysctl` and the
//! endpoint driver options (`driver-opt=`, `network connect --driver-opt`).
//!
//! Parsed by hand: each is a few lines of Docker's own rules (docker/cli's
//! `opts.NetworkOpt`, `nat.ParsePortRange`, `opts.ValidateSysctl`), whose
//! exact acceptance berth matches.

mod attach;

pub use attach::{network_mode, FlatNetworkOpts, NetworkMode};

use super::container::Exposed;
use super::{NetworkAttach, Proto};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The endpoint driver option holding per-interface sysctls
/// (`net.ipv4.conf.IFNAME.forwarding=0,...`: `IFNAME` is replaced by the
/// endpoint's interface name; Docker 27).
pub const ENDPOINT_SYSCTLS: &str = "com.docker.network.endpoint.sysctls";
/// The endpoint driver option naming the interface in the container
/// (Docker 28).
pub const ENDPOINT_IFNAME: &str = "com.docker.network.endpoint.ifname";
/// Every endpoint driver option berth understands.
pub const ENDPOINT_OPTS: [&str; 2] = [ENDPOINT_SYSCTLS, ENDPOINT_IFNAME];

/// True when `value` uses the `key=value,...` form (Docker's test: a word,
/// `=`, a word anywhere in it); otherwise it is a network name or id.
fn long_syntax(value: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    value
        .char_indices()
        .filter(|(_, c)| *c == '=')
        .any(|(i, _)| word(value[..i].chars().last()) && word(value[i + 1..].chars().next()))
}

/// Splits one CSV record (Go's `encoding/csv`: fields separated by `,`,
/// optionally in double quotes, `""` for a quote inside them).
fn csv_fields(value: &str, bad: &dyn Fn(&str) -> Error) -> Result<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = value.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let field = fields.last_mut().ok_or_else(|| bad("empty"))?;
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(String::new()),
            ('"', false) => return Err(bad("a quote inside an unquoted field")),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err(bad("a quoted field is not closed"));
    }
    Ok(fields)
}

/// Parses one `--network` value: a network name or id, `container:NAME`,
/// or Docker 25's `name=N[,alias=A][,ip=IPv4][,ip6=IPv6][,mac-address=M]
/// [,driver-opt=K=V][,gw-priority=N]` (keys repeatable where Docker's are).
pub fn parse_network_opt(value: &str) -> Result<NetworkAttach> {
    if !long_syntax(value) {
        return Ok(NetworkAttach {
            network: value.to_string(),
            ..Default::default()
        });
    }
    let bad = |why: &str| Error::invalid(format!("invalid --network {value:?}: {why}"));
    let mut a = NetworkAttach::default();
    for field in csv_fields(value, &bad)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) if !k.is_empty() => (k.trim(), v.trim()),
            _ => return Err(bad(&format!("invalid field {field} (expected KEY=VALUE)"))),
        };
        match key {
            "name" => a.network = val.to_string(),
            "alias" => a.aliases.push(val.to_string()),
            "ip" => a.ip = Some(val.parse().map_err(|_| {
                bad(&format!("invalid IPv4 address: {val}"))
            })?),
            "ip6" => a.ip6 = Some(val.parse().map_err(|_| {
                bad(&format!("invalid IPv6 address: {val}"))
            })?),
            "mac-address" => a.mac = Some(val.to_string()),
            "gw-priority" => a.gw_priority = val.parse().map_err(|_| {
                bad(&format!("invalid gw-priority {val:?}: expected an integer"))
            })?,
            "driver-opt" => {
                let (k, v) = val
                    .split_once('=')
                    .filter(|(k, _)| !k.trim().is_empty())
                    .ok_or_else(|| bad("invalid key value pair format in driver options"))?;
                a.driver_opts.insert(k.trim().to_string(), v.trim().to_string());
            }
            "link-local-ip" | "link" => {
                return Err(bad(&format!(
                    "{key}= is not supported by berth (no links, no link-local addresses); drop it"
                )))
            }
            _ => {
                return Err(bad(&format!(
                    "invalid field key {key} (use name, alias, ip, ip6, mac-address, driver-opt or gw-priority)"
                )))
            }
        }
    }
    if a.network.is_empty() {
        return Err(bad("network name/id is not specified (add name=NETWORK)"));
    }
    Ok(a)
}

/// Parses one `--expose` value: `PORT`, `FIRST-LAST`, optionally `/tcp`
/// or `/udp` (Docker accepts any protocol word; berth only those it can
/// publish).
pub fn parse_expose(value: &str) -> Result<Exposed> {
    let bad = |why: String| {
        Error::invalid(format!(
            "invalid --expose {value:?}: {why}; expected PORT[-PORT][/tcp|udp], e.g. 80 or 8000-8010/udp"
        ))
    };
    let (range, proto) = match value.rsplit_once('/') {
        Some((r, p)) => (r, Proto::parse(p).map_err(|e| bad(e.to_string()))?),
        None => (value, Proto::Tcp),
    };
    let port = |s: &str| match s.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(bad(format!(
            "{s:?} is not a port (a number from 1 to 65535)"
        ))),
    };
    let (first, last) = match range.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(range)?, port(range)?),
    };
    if last < first {
        return Err(bad(format!("the range {range} ends before it starts")));
    }
    Ok(Exposed { first, last, proto })
}

/// Docker's `--sysctl` keys of the IPC namespace: accepted by Docker,
/// refused by berth (it sets network sysctls only).
fn ipc_sysctl(key: &str) -> bool {
    matches!(
        key,
        "kernel.msgmax"
            | "kernel.msgmnb"
            | "kernel.msgmni"
            | "kernel.sem"
            | "kernel.shmall"
            | "kernel.shmmax"
            | "kernel.shmmni"
            | "kernel.shm_rmid_forced"
    ) || key.starts_with("fs.mqueue.")
}

/// Checks a sysctl berth writes in a container's network namespace
/// (`--sysctl`, the endpoint option's): a `net.` key of plain
/// dot-separated names (no `/`, nothing empty, so it cannot leave
/// `/proc/sys/net`), and a short printable value without `/`.
pub fn sysctl(flag: &str, key: &str, value: &str) -> Result<()> {
    if ipc_sysctl(key) {
        return Err(Error::invalid(format!(
            "{flag} {key}={value}: berth sets network sysctls (net.*) only; IPC sysctls (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) are not supported"
        )));
    }
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 64
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let Some(rest) = key.strip_prefix("net.") else {
        return Err(Error::invalid(format!(
            "{flag} {key}={value}: sysctl {key:?} is not allowed: only network sysctls (net.*) are namespaced per container"
        )));
    };
    if !rest.split('.').all(part_ok) {
        return Err(Error::invalid(format!(
            "{flag} {key}={value}: {key:?} is not a sysctl name (dot-separated letters, digits, '_' and '-'; interface names with dots are not supported)"
        )));
    }
    let value_ok = !value.is_empty()
        && value.len() <= 256
        && value.chars().all(|c| (' '..='~').contains(&c) && c != '/');
    if !value_ok {
        return Err(Error::invalid(format!(
            "{flag} {key}={value:?}: a sysctl value is 1 to 256 printable characters without '/'"
        )));
    }
    Ok(())
}

/// Parses `--sysctl KEY=VALUE` values, checking each ([`sysctl`]).
pub fn parse_sysctls(items: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for item in items {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "invalid --sysctl {item:?}: expected KEY=VALUE, e.g. net.ipv4.ip_forward=1"
            ))
        })?;
        sysctl("--sysctl", k, v)?;
        map.insert(k.to_string(), v.to_string());
    }
    Ok(map)
}

/// The per-interface sysctls of endpoint option [`ENDPOINT_SYSCTLS`]
/// (`KEY=VALUE,...`, each key naming the interface as `IFNAME`) for the
/// interface `ifname`, checked.
pub fn endpoint_sysctls(value: &str, ifname: &str) -> Result<Vec<(String, String)>> {
    let flag = format!("driver-opt {ENDPOINT_SYSCTLS}");
    value
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (k, v) = item.trim().split_once('=').ok_or_else(|| {
                Error::invalid(format!("{flag}: {item:?} is not KEY=VALUE"))
            })?;
            if !k.split('.').any(|p| p == "IFNAME") {
                return Err(Error::invalid(format!(
                    "{flag}: {k:?} does not name the interface as IFNAME (e.g. net.ipv4.conf.IFNAME.forwarding=0)"
                )));
            }
            let key = k
                .split('.')
                .map(|p| if p == "IFNAME" { ifname } else { p })
                .collect::<Vec<_>>()
                .join(".");
            sysctl(&flag, &key, v)?;
            Ok((key, v.to_string()))
        })
        .collect()
}

/// Checks an endpoint's driver options: only those berth understands, with
/// values it can use (the sysctls with a stand-in interface name).
pub fn endpoint_opts(opts: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in opts {
        match k.as_str() {
            ENDPOINT_SYSCTLS => drop(endpoint_sysctls(v, "eth0")?),
            ENDPOINT_IFNAME => crate::ids::validate_ifname(v)?,
            _ => {
                return Err(Error::invalid(format!(
                    "unknown endpoint driver option {k:?}: berth understands {}",
                    ENDPOINT_OPTS.join(", ")
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
