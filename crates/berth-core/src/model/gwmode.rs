//! Docker 27/28's gateway modes of a bridge network, per address family
//! (`-o com.docker.network.bridge.gateway_mode_ipv4|ipv6=nat|nat-unprotected|
//! routed|isolated`), `inhibit_ipv4`, and the interface prefix option.

use super::network::{opt, parse_bool_opt, Network};
use crate::error::{Error, Result};

/// How a bridge network's gateway treats one address family (Docker 27/28's
/// `gateway_mode_ipv4` / `gateway_mode_ipv6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GwMode {
    /// Outbound masquerade; only published ports reach containers (the
    /// default).
    Nat,
    /// Masquerade, and every port of the containers reachable by anyone who
    /// routes to their addresses.
    NatUnprotected,
    /// No NAT: containers are reached at their own addresses, only on their
    /// published ports (and ICMP).
    Routed,
    /// No gateway address on the bridge: the host is out of reach (an
    /// `--internal` network only).
    Isolated,
}

impl GwMode {
    /// Parses an option value, naming the key when it is bad.
    pub fn parse(key: &str, v: &str) -> Result<GwMode> {
        match v {
            "nat" => Ok(GwMode::Nat),
            "nat-unprotected" => Ok(GwMode::NatUnprotected),
            "routed" => Ok(GwMode::Routed),
            "isolated" => Ok(GwMode::Isolated),
            _ => Err(Error::invalid(format!(
                "failed to parse {key} value: {v} (unknown gateway mode {v}): use nat, nat-unprotected, routed or isolated"
            ))),
        }
    }
}

impl Network {
    /// The gateway mode of the IPv4 (else IPv6) family (an unparsable
    /// recorded value counts as the default: it was checked at creation).
    pub fn gw_mode(&self, v6: bool) -> GwMode {
        let key = if v6 { opt::GW_MODE6 } else { opt::GW_MODE4 };
        self.options
            .get(key)
            .and_then(|v| GwMode::parse(key, v).ok())
            .unwrap_or(GwMode::Nat)
    }

    /// Whether the bridge holds the gateway address of the family (not
    /// with `isolated`, nor IPv4 with `inhibit_ipv4`).
    pub fn gateway_on_bridge(&self, v6: bool) -> bool {
        let inhibit = !v6
            && self
                .options
                .get(opt::INHIBIT_IPV4)
                .is_some_and(|v| parse_bool_opt(opt::INHIBIT_IPV4, v).unwrap_or(false));
        self.gw_mode(v6) != GwMode::Isolated && !inhibit
    }

    /// Whether containers route through the family's gateway (not on an
    /// `isolated` family, which has none).
    pub fn has_gateway(&self, v6: bool) -> bool {
        self.gw_mode(v6) != GwMode::Isolated
    }
}

/// Checks one `-o` option of a bridge network (`internal`: created with
/// `--internal`, which `isolated` requires, as Docker does).
pub(crate) fn check_bridge_option(k: &str, v: &str, internal: bool) -> Result<()> {
    match k {
        opt::GW_MODE4 | opt::GW_MODE6 => {
            if GwMode::parse(k, v)? == GwMode::Isolated && !internal {
                return Err(Error::invalid(format!(
                    "gateway mode 'isolated' can only be used for an internal network: add --internal or choose another {k}"
                )));
            }
            Ok(())
        }
        opt::INHIBIT_IPV4 => parse_bool_opt(k, v).map(drop),
        opt::IFACE_PREFIX => check_iface_prefix(v),
        k if opt::ALL.contains(&k) => Ok(()),
        _ => Err(Error::invalid(format!(
            "unknown option {k:?}: berth's bridge driver understands {}",
            opt::ALL.join(", ")
        ))),
    }
}

/// Checks a `com.docker.network.container_iface_prefix` value: the start
/// of an interface name (letters, digits, `-`, `_`), short enough for a
/// number after it.
pub fn check_iface_prefix(v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 12
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && v.starts_with(|c: char| c.is_ascii_alphabetic());
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid value {v:?} for option {}: 1 to 12 letters, digits, '-' or '_', starting with a letter (interface names get a number after it)",
        opt::IFACE_PREFIX
    )))
}
