//! From `run`'s `--network` values and flat network flags to the
//! container's attachments, with Docker's rules (docker/cli's
//! `parseNetworkOpts` and `applyContainerOptions`, the daemon's checks of
//! network modes): the flat `--ip`, `--ip6`, `--mac-address` and
//! `--network-alias` apply to the first network; giving one both flat and
//! per-network is refused; a network named twice is refused; `host`,
//! `none` and `container:NAME` stand alone.

use super::parse_network_opt;
use crate::error::{Error, Result};
use crate::model::NetworkAttach;

/// The flat network flags of `run` (`--ip`, `--ip6`, `--mac-address`,
/// `--network-alias`), as typed.
#[derive(Debug, Clone, Default)]
pub struct FlatNetworkOpts {
    /// `--ip`.
    pub ip: Option<String>,
    /// `--ip6`.
    pub ip6: Option<String>,
    /// `--mac-address`.
    pub mac: Option<String>,
    /// `--network-alias` (repeatable).
    pub aliases: Vec<String>,
}

/// What `--network` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// Endpoints on these networks (`bridge` when none was given; `host`
    /// and `none` are one network each, alone).
    Networks(Vec<NetworkAttach>),
    /// `container:NAME`: join the network namespace of container NAME.
    Container(String),
}

/// Docker's network modes that are not user-defined networks.
fn builtin(name: &str) -> bool {
    matches!(name, "bridge" | "default" | "host" | "none") || name.starts_with("container:")
}

/// Puts the flat flags on `a` (the first network), refusing a value given
/// both ways (Docker's messages).
fn apply_flat(a: &mut NetworkAttach, f: &FlatNetworkOpts) -> Result<()> {
    let both = |what: &str| {
        Error::invalid(format!(
            "conflicting options: cannot specify both --{what} and per-network {what}: keep one of them"
        ))
    };
    if let Some(s) = &f.ip {
        if a.ip.is_some() {
            return Err(both("ip"));
        }
        a.ip = Some(s.parse().map_err(|_| {
            Error::invalid(format!(
                "invalid --ip {s:?}: expected an IPv4 address like 10.1.0.5"
            ))
        })?);
    }
    if let Some(s) = &f.ip6 {
        if a.ip6.is_some() {
            return Err(both("ip6"));
        }
        a.ip6 = Some(s.parse().map_err(|_| {
            Error::invalid(format!("invalid --ip6 {s:?}: expected an IPv6 address"))
        })?);
    }
    if let Some(m) = &f.mac {
        if a.mac.is_some() {
            return Err(both("mac-address"));
        }
        a.mac = Some(m.clone());
    }
    if !f.aliases.is_empty() {
        if !a.aliases.is_empty() {
            return Err(both("network-alias"));
        }
        a.aliases = f.aliases.clone();
    }
    Ok(())
}

/// Parses `run`'s `--network` values (each a name, `container:NAME` or
/// the `name=...` form) and applies the flat flags to the first.
pub fn network_mode(values: &[String], flat: &FlatNetworkOpts) -> Result<NetworkMode> {
    let given: Vec<NetworkAttach> = values
        .iter()
        .map(|v| parse_network_opt(v))
        .collect::<Result<_>>()?;
    let mut nets = if given.is_empty() {
        vec![NetworkAttach {
            network: "bridge".into(),
            ..Default::default()
        }]
    } else {
        given
    };
    for (i, a) in nets.iter().enumerate() {
        if nets[..i].iter().any(|b| b.network == a.network) {
            return Err(Error::invalid(format!(
                "network {:?} is specified multiple times: give each --network once",
                a.network
            )));
        }
    }
    let user = nets.iter().filter(|a| !builtin(&a.network)).count();
    if user > 0 && user < nets.len() {
        return Err(Error::invalid(
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes (bridge, host, none, container:NAME stand alone)",
        ));
    }
    if user == 0 && nets.len() > 1 {
        let names: Vec<&str> = nets.iter().map(|a| a.network.as_str()).collect();
        return Err(Error::invalid(format!(
            "container cannot be connected to network endpoints: {}: host, none, bridge and container:NAME stand alone",
            names.join(", ")
        )));
    }
    if let Some(name) = nets[0].network.strip_prefix("container:") {
        let a = &nets[0];
        let flat_set = flat.ip.is_some()
            || flat.ip6.is_some()
            || flat.mac.is_some()
            || !flat.aliases.is_empty();
        if flat_set || a != &parse_network_opt(&a.network)? {
            return Err(Error::invalid(
                "conflicting options: --ip, --ip6, --mac-address, --network-alias and per-network options cannot be used with --network container:NAME (the container shares that one's network)",
            ));
        }
        if name.is_empty() {
            return Err(Error::invalid(
                "invalid --network container:: name the container whose network to join, e.g. container:web",
            ));
        }
        return Ok(NetworkMode::Container(name.to_string()));
    }
    apply_flat(&mut nets[0], flat)?;
    Ok(NetworkMode::Networks(nets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(v: &[&str], flat: &FlatNetworkOpts) -> Result<NetworkMode> {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        network_mode(&v, flat)
    }

    fn nets(v: &[&str], flat: &FlatNetworkOpts) -> Vec<NetworkAttach> {
        match mode(v, flat) {
            Ok(NetworkMode::Networks(n)) => n,
            other => panic!("{v:?}: {other:?}"),
        }
    }

    #[test]
    fn flat_flags_go_to_the_first_network() {
        let flat = FlatNetworkOpts {
            ip: Some("192.0.2.5".into()),
            aliases: vec!["db".into()],
            ..Default::default()
        };
        let n = nets(&["front", "name=back,alias=b"], &flat);
        assert_eq!(n[0].ip, Some("192.0.2.5".parse().unwrap()));
        assert_eq!(n[0].aliases, ["db"]);
        assert_eq!(n[1].aliases, ["b"]);
        assert_eq!(n[1].ip, None);
        // Without --network: the default bridge.
        let n = nets(&[], &FlatNetworkOpts::default());
        assert_eq!(n[0].network, "bridge");
        // The per-network form on a second network, flat on the first.
        let flat = FlatNetworkOpts {
            ip: Some("192.0.2.5".into()),
            ..Default::default()
        };
        let n = nets(&["front", "name=back,ip=198.51.100.7"], &flat);
        assert_eq!(n[1].ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn docker_s_conflicts_are_refused() {
        let flat = FlatNetworkOpts {
            ip: Some("192.0.2.5".into()),
            ..Default::default()
        };
        for (v, flat, needle) in [
            (
                &["name=front,ip=192.0.2.6"][..],
                &flat,
                "both --ip and per-network ip",
            ),
            (
                &["front", "front"],
                &FlatNetworkOpts::default(),
                "multiple times",
            ),
            (
                &["host", "front"],
                &FlatNetworkOpts::default(),
                "non-user-defined",
            ),
            (
                &["bridge", "front"],
                &FlatNetworkOpts::default(),
                "non-user-defined",
            ),
            (&["host", "none"], &FlatNetworkOpts::default(), "host, none"),
            (&["container:web"], &flat, "container:NAME"),
            (
                &["container:"],
                &FlatNetworkOpts::default(),
                "name the container",
            ),
            (
                &["container:web", "front"],
                &FlatNetworkOpts::default(),
                "non-user-defined",
            ),
            (
                &["front"],
                &FlatNetworkOpts {
                    ip: Some("x".into()),
                    ..Default::default()
                },
                "invalid --ip \"x\"",
            ),
        ] {
            let e = mode(v, flat).unwrap_err().to_string();
            assert!(e.contains(needle), "{v:?}: {e}");
        }
        assert_eq!(
            mode(&["container:web"], &FlatNetworkOpts::default()).unwrap(),
            NetworkMode::Container("web".into())
        );
        assert_eq!(
            nets(&["host"], &FlatNetworkOpts::default())[0].network,
            "host"
        );
    }
}
