//! Pure checks of the strings a user (or a runtime) gives berth that end
//! up in files (`/etc/hosts`, `hostname`, `resolv.conf`), in nftables text
//! or in the kernel: every front-end (the CLI, the CNI plugin, later the
//! Docker plugin) goes through the engine, which calls these before it
//! records anything. A value with a newline, a space or a quote could
//! otherwise add lines to a container's files or break a ruleset.
//!
//! Written by hand: the rules are RFC 1123's few lines, and no crate
//! checks exactly these (Docker's own checks are as small).

use super::{ContainerConfig, NetworkAttach};
use crate::error::{Error, Result};
use std::net::IpAddr;

/// Longest host name the kernel accepts (`HOST_NAME_MAX`).
const HOSTNAME_MAX: usize = 64;
/// Longest domain name (RFC 1035).
const DOMAIN_MAX: usize = 253;

/// One RFC 1123 label: 1 to 63 letters, digits and hyphens, starting and
/// ending with a letter or digit. With `underscore`, `_` counts as a
/// letter (DNS names of containers: Docker's names may have it).
fn label_ok(label: &str, underscore: bool) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || (underscore && c == '_');
    !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| ok(c) || c == '-')
        && label.starts_with(ok)
        && label.ends_with(ok)
}

/// True when `name` is dot-separated labels (one trailing dot allowed).
fn dotted_ok(name: &str, max: usize, underscore: bool) -> bool {
    let body = name.strip_suffix('.').unwrap_or(name);
    !body.is_empty() && name.len() <= max && body.split('.').all(|l| label_ok(l, underscore))
}

/// A host name (`--hostname`, names of `--add-host`): RFC 1123, at most
/// 64 characters.
pub fn hostname(flag: &str, name: &str) -> Result<()> {
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.len() == name.len() && dotted_ok(name, HOSTNAME_MAX, false) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid {flag} {name:?}: a host name is letters, digits and '-' in dot-separated labels (RFC 1123: no spaces, '_' or other characters, labels not starting or ending with '-'), at most {HOSTNAME_MAX} characters"
    )))
}

/// A domain name (`--dns-search`): RFC 1123 labels, at most 253
/// characters; `.` alone means "no search domain" (Docker's spelling).
pub fn domain(flag: &str, name: &str) -> Result<()> {
    if name == "." || dotted_ok(name, DOMAIN_MAX, false) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid {flag} {name:?}: expected a domain name like corp.example (letters, digits and '-' in dot-separated labels, no spaces), or . for none"
    )))
}

/// A DNS name a container answers to on a network (`--network-alias`):
/// like a domain name, `_` allowed (container names may have one).
pub fn alias(flag: &str, name: &str) -> Result<()> {
    if dotted_ok(name, DOMAIN_MAX, true) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid {flag} {name:?}: expected a DNS name (letters, digits, '-' and '_' in dot-separated labels, no spaces)"
    )))
}

/// A resolv.conf option (`--dns-option`): a word of lowercase letters,
/// digits and '-' (`rotate`, `edns0`, `single-request`...), optionally
/// `:N` (`ndots:2`, `timeout:1`, `attempts:3`).
pub fn dns_option(opt: &str) -> Result<()> {
    let (word, value) = match opt.split_once(':') {
        Some((w, v)) => (w, Some(v)),
        None => (opt, None),
    };
    let word_ok = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && word.starts_with(|c: char| c.is_ascii_lowercase());
    let value_ok = value
        .is_none_or(|v| !v.is_empty() && v.len() <= 5 && v.chars().all(|c| c.is_ascii_digit()));
    if word_ok && value_ok {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid --dns-option {opt:?}: expected a resolv.conf option like ndots:2, timeout:1, attempts:3, rotate or edns0"
    )))
}

/// A DNS server (`--dns`): an IP address.
pub fn dns_server(s: &str) -> Result<()> {
    s.parse::<IpAddr>().map(|_| ()).map_err(|_| {
        Error::invalid(format!(
            "invalid --dns {s:?}: expected the IP address of a DNS server"
        ))
    })
}

/// The address of an `--add-host` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostTarget {
    /// A literal address.
    Ip(IpAddr),
    /// `host-gateway`: the gateway of the container's first network.
    Gateway,
}

/// Parses `--add-host NAME:IP` (IPv6 with or without brackets) or
/// `NAME:host-gateway`.
pub fn add_host(entry: &str) -> Result<(&str, HostTarget)> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "invalid --add-host {entry:?}: {why}; expected NAME:IP or NAME:host-gateway"
        ))
    };
    let (name, ip) = entry
        .split_once(':')
        .ok_or_else(|| bad("no ':' between the name and the address"))?;
    if hostname("--add-host name", name).is_err() {
        return Err(bad(&format!(
            "{name:?} is not a host name (RFC 1123: letters, digits, '-' and dots)"
        )));
    }
    if ip == "host-gateway" {
        return Ok((name, HostTarget::Gateway));
    }
    let bare = ip
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(ip);
    let addr = bare
        .parse::<IpAddr>()
        .map_err(|_| bad(&format!("{ip:?} is not an IP address")))?;
    Ok((name, HostTarget::Ip(addr)))
}

impl NetworkAttach {
    /// Checks what reaches files, the DNS and the kernel: the
    /// network-scoped aliases and the endpoint driver options.
    pub fn validate(&self) -> Result<()> {
        self.aliases
            .iter()
            .try_for_each(|a| alias("--network-alias", a))?;
        super::netopt::endpoint_opts(&self.driver_opts)
    }
}

/// Docker's refusals of options that set what a container joining
/// another's network namespace (`--network container:NAME`) shares
/// with it; the message of the first one set.
fn shared_namespace_conflicts(c: &ContainerConfig) -> Result<()> {
    let conflicts = [
        (!c.publish.is_empty() || c.publish_all, "conflicting options: port publishing and the container type network mode"),
        (!c.expose.is_empty(), "conflicting options: port exposing and the container type network mode"),
        (!c.hostname.is_empty(), "conflicting options: hostname and the network mode"),
        (!c.dns.is_empty() || !c.dns_search.is_empty() || !c.dns_options.is_empty(), "conflicting options: dns and the network mode"),
        (!c.add_hosts.is_empty(), "conflicting options: custom host-to-IP mapping and the network mode"),
        (!c.networks.is_empty(), "conflicting options: a container joining another's network namespace has no networks of its own"),
    ];
    match conflicts.iter().find(|(set, _)| *set) {
        Some((_, msg)) => Err(Error::invalid(format!(
            "{msg}: the container shares the network, names and ports of the one it joins (--network container:NAME); drop the option"
        ))),
        None => Ok(()),
    }
}

impl ContainerConfig {
    /// Checks every value that reaches the container's files, its DNS
    /// names or the kernel (hostname, `--add-host`, `--dns*`, aliases);
    /// the first bad one is the error, naming it and the flag.
    pub fn validate(&self) -> Result<()> {
        if !self.hostname.is_empty() {
            hostname("--hostname", &self.hostname)?;
        }
        for h in &self.add_hosts {
            add_host(h)?;
        }
        self.dns.iter().try_for_each(|s| dns_server(s))?;
        for d in &self.dns_search {
            domain("--dns-search", d)?;
        }
        self.dns_options.iter().try_for_each(|o| dns_option(o))?;
        self.networks.iter().try_for_each(NetworkAttach::validate)?;
        if !self.domainname.is_empty() {
            domain("--domainname", &self.domainname)?;
        }
        for (k, v) in &self.sysctls {
            super::netopt::sysctl("--sysctl", k, v)?;
        }
        if self.net_container.is_some() {
            shared_namespace_conflicts(self)?;
        }
        if self.argv.is_empty() || self.argv[0].is_empty() {
            return Err(Error::invalid(
                "no command given: add the command to run after the options, e.g. 'berth run busybox sh'",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_follow_rfc_1123() {
        for ok in ["web", "web-1", "a.b.c", "0abc", "x".repeat(63).as_str()] {
            assert!(hostname("--hostname", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "a\nb",
            "evil\n1.2.3.4 bank",
            "-web",
            "web-",
            "a..b",
            "a_b",
            "web.",
            "a\"b",
            "x".repeat(64).as_str(),
            &format!("{}.{}", "a".repeat(40), "b".repeat(30)),
        ] {
            let e = hostname("--hostname", bad).unwrap_err().to_string();
            assert!(
                e.contains("--hostname") && e.contains("RFC 1123"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn domains_and_aliases() {
        assert!(domain("--dns-search", "corp.example").is_ok());
        assert!(domain("--dns-search", "corp.example.").is_ok());
        assert!(domain("--dns-search", ".").is_ok());
        for bad in ["a b", "corp.example\nnameserver 1.2.3.4", "", "..", "a_b.c"] {
            let e = domain("--dns-search", bad).unwrap_err().to_string();
            assert!(
                e.contains("--dns-search") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
        assert!(alias("--network-alias", "web_1.svc").is_ok());
        assert!(alias("--network-alias", "we b").is_err());
        assert!(alias("--network-alias", "").is_err());
    }

    #[test]
    fn resolv_conf_options() {
        for ok in [
            "ndots:2",
            "timeout:1",
            "attempts:3",
            "rotate",
            "edns0",
            "single-request-reopen",
            "no-aaaa",
        ] {
            assert!(dns_option(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ndots:",
            "ndots:a",
            "nd ots",
            "edns0\nnameserver 192.0.2.1",
            "ROTATE",
            ":1",
            "ndots:1:2",
            "ndots:999999",
        ] {
            let e = dns_option(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn add_host_entries() {
        let ip = |s: &str| HostTarget::Ip(s.parse().unwrap());
        assert_eq!(add_host("db:192.0.2.9").unwrap(), ("db", ip("192.0.2.9")));
        assert_eq!(
            add_host("db:2001:db8::9").unwrap(),
            ("db", ip("2001:db8::9"))
        );
        assert_eq!(
            add_host("db:[2001:db8::9]").unwrap(),
            ("db", ip("2001:db8::9"))
        );
        assert_eq!(
            add_host("gw:host-gateway").unwrap(),
            ("gw", HostTarget::Gateway)
        );
        for bad in [
            "db",
            ":192.0.2.9",
            "db:banana",
            "a b:192.0.2.9",
            "db\n6.6.6.6 bank:192.0.2.9",
            "db:192.0.2.9\nx",
        ] {
            let e = add_host(bad).unwrap_err().to_string();
            assert!(
                e.contains("--add-host") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_config_is_checked_whole() {
        let good = ContainerConfig {
            hostname: "web".into(),
            argv: vec!["true".into()],
            dns_search: vec!["corp.example".into()],
            dns_options: vec!["ndots:1".into()],
            add_hosts: vec!["db:192.0.2.9".into()],
            dns: vec!["192.0.2.53".into()],
            ..Default::default()
        };
        assert!(good.validate().is_ok());
        let mut bad = good.clone();
        bad.dns = vec!["dns.example".into()];
        assert!(bad.validate().unwrap_err().to_string().contains("--dns"));
        let mut bad = good.clone();
        bad.networks = vec![NetworkAttach {
            network: "n".into(),
            aliases: vec!["a\nb".into()],
            ..Default::default()
        }];
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--network-alias"));
        let mut bad = good;
        bad.argv.clear();
        assert!(bad.validate().is_err());
    }
}
