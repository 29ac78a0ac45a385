//! One plugin configuration as a runtime passes it on stdin: the network's
//! `name` and `cniVersion`, the keys of the reference `bridge` plugin that
//! mean the same in berth, `ipam` (see [`crate::Ipam`]), `dns`,
//! `runtimeConfig`, `args`, `prevResult` and, for GC,
//! `cni.dev/valid-attachments`.
//!
//! A key berth does not know is error 2 (unsupported field), naming the key
//! and its value, so a typo (`ipmasq`) or a reference-plugin feature berth
//! lacks (`vlan`) never passes silently. Reference keys that change nothing
//! in berth are accepted: `hairpinMode` (every berth port is in hairpin
//! mode), `forceAddress`, `preserveDefaultVlan`, `capabilities`.

use crate::error::{code, CniError};
use crate::ipam::{self, Ipam};
use crate::json::{invalid, Fields};
use crate::result::{CniResult, Dns};
use crate::runtime::{self, RuntimeConfig};
use crate::version::Version;
use serde_json::Value;
use std::net::IpAddr;
use std::path::PathBuf;

/// The bridge network's settings (`None` = not given: berth's default for a
/// new network, whatever the existing network has otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeConfig {
    /// `bridge`: the Linux bridge's name.
    pub bridge: Option<String>,
    /// `isDefaultGateway`: a default route via the gateway (default true).
    pub is_default_gateway: Option<bool>,
    /// `ipMasq`: masquerade outbound traffic (default true).
    pub ip_masq: Option<bool>,
    /// `mtu`.
    pub mtu: Option<u32>,
    /// `portIsolation`: containers on the bridge cannot reach each other
    /// (berth's `enable_icc=false`).
    pub port_isolation: Option<bool>,
    /// `internal` (berth): no traffic in or out of the bridge.
    pub internal: Option<bool>,
}

/// The cluster store of overlay networks (berth's keys `store`, `storeCa`,
/// `storeCert`, `storeKey`, `storeAuth`): given, they replace the plugin's
/// environment (`BERTH_STORE`...), so a conflist names the overlay network
/// (`name`) and the store it lives in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// `store`: `etcds://HOST:PORT[,...]` or `etcd://...`.
    pub url: Option<String>,
    /// `storeCa`: the members' CA (an absolute path).
    pub ca: Option<PathBuf>,
    /// `storeCert`: the client certificate.
    pub cert: Option<PathBuf>,
    /// `storeKey`: its key.
    pub key: Option<PathBuf>,
    /// `storeAuth`: a file holding `USER:PASSWORD`.
    pub auth: Option<PathBuf>,
}

/// One `cni.dev/valid-attachments` entry (GC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `containerID`.
    pub container_id: String,
    /// `ifname`.
    pub ifname: String,
}

/// A parsed plugin configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfig {
    /// `cniVersion`: results and errors are rendered in it.
    pub version: Version,
    /// `name`: the berth network's name.
    pub name: String,
    /// Bridge settings.
    pub bridge: BridgeConfig,
    /// Where addresses come from.
    pub ipam: Ipam,
    /// `dns`: DNS settings for the result.
    pub dns: Option<Dns>,
    /// `runtimeConfig`.
    pub runtime: RuntimeConfig,
    /// `args.cni.ips`.
    pub args_ips: Vec<IpAddr>,
    /// `args.cni.mac`.
    pub args_mac: Option<String>,
    /// `prevResult`.
    pub prev_result: Option<CniResult>,
    /// `cni.dev/valid-attachments` (GC).
    pub valid_attachments: Option<Vec<Attachment>>,
    /// The cluster store (overlay networks).
    pub store: StoreConfig,
}

/// Keys of the reference `bridge` plugin berth does not implement, with the
/// value that means "off" (any other value is error 2).
const UNSUPPORTED_UNLESS_OFF: [(&str, &str); 6] = [
    ("vlan", "0"),
    ("promiscMode", "false"),
    ("enabledad", "false"),
    ("disableContainerInterface", "false"),
    ("vlanTrunk", "[]"),
    ("ipMasqBackend", "\"nftables\""),
];

/// Keys accepted and ignored: list-level keys some runtimes pass through,
/// and reference keys whose behaviour berth always has (`macspoofchk`:
/// berth checks every frame's MAC and addresses, whatever its value).
const IGNORED: [&str; 8] = [
    "cniVersions",
    "capabilities",
    "hairpinMode",
    "forceAddress",
    "preserveDefaultVlan",
    "disableCheck",
    "disableGC",
    "macspoofchk",
];

fn unsupported(key: &str, v: &Value, why: &str) -> CniError {
    CniError::new(
        code::UNSUPPORTED_FIELD,
        format!("unsupported field {key}"),
        format!("{key} = {v}: {why}; nothing was changed"),
    )
}

/// Parses the configuration on stdin.
pub fn parse(bytes: &[u8]) -> Result<PluginConfig, CniError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        CniError::new(
            code::DECODE,
            "error decoding the network configuration",
            format!("stdin is not valid JSON: {e}"),
        )
    })?;
    let mut f = Fields::of(&v, "")?;
    let version = version(&mut f)?;
    let name = f.str("name")?.unwrap_or_default().to_string();
    check_name(&name)?;
    f.ignore(&["type"]);
    f.ignore(&IGNORED);
    refuse_missing_features(&mut f)?;
    let bridge = bridge_config(&mut f)?;
    let store = store_config(&mut f)?;
    let ipam = f
        .get("ipam")
        .map(ipam::parse)
        .transpose()?
        .unwrap_or(Ipam::Network);
    let dns = f.get("dns").map(|d| Dns::from_json(d, "dns")).transpose()?;
    let runtime = f
        .get("runtimeConfig")
        .map(runtime::parse)
        .transpose()?
        .unwrap_or_default();
    let (args_ips, args_mac) = f
        .get("args")
        .map(runtime::args)
        .transpose()?
        .unwrap_or_default();
    let prev_result = f.get("prevResult").map(CniResult::from_json).transpose()?;
    let valid_attachments = f
        .get("cni.dev/valid-attachments")
        .map(valid_attachments)
        .transpose()?;
    f.finish(|k| k.starts_with("cni.dev/"))?;
    Ok(PluginConfig {
        version,
        name,
        bridge,
        ipam,
        dns,
        runtime,
        args_ips,
        args_mac,
        prev_result,
        valid_attachments,
        store,
    })
}

/// `cniVersion`: required, and one berth speaks (error 1 otherwise).
fn version(f: &mut Fields) -> Result<Version, CniError> {
    match f.str("cniVersion")? {
        Some(s) => Version::parse(s),
        None => Err(CniError::new(
            code::INCOMPATIBLE_VERSION,
            "incompatible CNI version",
            "the configuration has no cniVersion; nothing was changed",
        )),
    }
}

/// Error 2 for a reference `bridge` feature berth lacks, when it is on.
fn refuse_missing_features(f: &mut Fields) -> Result<(), CniError> {
    for (key, off) in UNSUPPORTED_UNLESS_OFF {
        let off: Value = serde_json::from_str(off).unwrap_or(Value::Null);
        if let Some(x) = f.get(key).filter(|x| **x != off) {
            return Err(unsupported(
                key,
                x,
                "berth's bridge driver has no such feature",
            ));
        }
    }
    if let Some(x) = f.bool("isGateway")?.filter(|g| !g) {
        return Err(unsupported(
            "isGateway",
            &Value::Bool(x),
            "a berth bridge always carries the gateway address (needed for NAT and published ports)",
        ));
    }
    Ok(())
}

/// The network name: required, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_name(name: &str) -> Result<(), CniError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() <= 128;
    if ok {
        return Ok(());
    }
    Err(CniError::new(
        code::INVALID_CONFIG,
        "invalid network name",
        format!("name {name:?}: a network name matches [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 128 characters); nothing was changed"),
    ))
}

fn bridge_config(f: &mut Fields) -> Result<BridgeConfig, CniError> {
    let bridge = f.str("bridge")?.map(String::from);
    if let Some(b) = &bridge {
        if crate::env::validate_ifname(b).is_err() {
            return Err(invalid("bridge", format!("bridge {b:?} is not an interface name (1 to 15 printable characters, no spaces, '/', ':', quotes, '\\', '*' or '%')")));
        }
    }
    let mtu = match f.u64("mtu")? {
        None | Some(0) => None,
        Some(m) if (68..=65535).contains(&m) => Some(m as u32),
        Some(m) => {
            return Err(invalid(
                "mtu",
                format!("mtu {m} is not between 68 and 65535"),
            ))
        }
    };
    Ok(BridgeConfig {
        bridge,
        is_default_gateway: f.bool("isDefaultGateway")?,
        ip_masq: f.bool("ipMasq")?,
        mtu,
        port_isolation: f.bool("portIsolation")?,
        internal: f.bool("internal")?,
    })
}

fn store_config(f: &mut Fields) -> Result<StoreConfig, CniError> {
    let url = f.str("store")?.map(String::from);
    if let Some(u) = &url {
        let scheme = u.starts_with("etcds://") || u.starts_with("etcd://");
        if !scheme || u.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(
                "store",
                format!("store {u:?}: expected etcds://HOST:PORT[,HOST:PORT...] (TLS) or etcd://... (plain, labs)"),
            ));
        }
    }
    let mut path = |key: &str| -> Result<Option<PathBuf>, CniError> {
        let Some(p) = f.str(key)? else {
            return Ok(None);
        };
        if !p.starts_with('/') || p.contains('\0') {
            return Err(invalid(
                key,
                format!("{key} {p:?}: give an absolute path (the plugin runs in the runtime's directory)"),
            ));
        }
        Ok(Some(PathBuf::from(p)))
    };
    Ok(StoreConfig {
        ca: path("storeCa")?,
        cert: path("storeCert")?,
        key: path("storeKey")?,
        auth: path("storeAuth")?,
        url,
    })
}

fn valid_attachments(v: &Value) -> Result<Vec<Attachment>, CniError> {
    let key = "cni.dev/valid-attachments";
    let items = v
        .as_array()
        .ok_or_else(|| crate::json::wrong_type(key, "an array", v))?;
    items
        .iter()
        .map(|a| {
            let mut f = Fields::of(a, key)?;
            let mut get = |k: &str| {
                f.str(k)?
                    .map(String::from)
                    .ok_or_else(|| invalid(key, format!("an entry of {key} has no {k}")))
            };
            Ok(Attachment {
                container_id: get("containerID")?,
                ifname: get("ifname")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
