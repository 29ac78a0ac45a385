//! The per-container files bind-mounted over `/etc/hosts`, `/etc/hostname`
//! and `/etc/resolv.conf` (rendering is pure; writing is plain file I/O).

use crate::error::{Error, Result};
use std::net::IpAddr;
use std::path::Path;

/// Docker's fallback resolvers when the host has only loopback ones, which a
/// container cannot reach.
const FALLBACK_DNS: &str = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

/// `/etc/hosts` of a container: localhost entries and its own addresses.
pub fn render_hosts(hostname: &str, addrs: &[IpAddr], extra: &[(String, IpAddr)]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for (name, ip) in extra {
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    for ip in addrs {
        s.push_str(&format!("{ip}\t{hostname}\n"));
    }
    s
}

/// `/etc/resolv.conf` of a container on a network without embedded DNS: the
/// host's, minus loopback nameservers (unreachable from the container).
pub fn render_resolv_conf(host: &str) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            match words.next().and_then(|a| a.parse::<IpAddr>().ok()) {
                Some(ip) if ip.is_loopback() => continue,
                Some(_) => servers += 1,
                None => continue,
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        out.push_str(FALLBACK_DNS);
    }
    out
}

/// Writes the three files into `dir`.
pub fn write_all(dir: &Path, hostname: &str, hosts: &str, resolv: &str) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    for (name, text) in [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts.to_string()),
        ("resolv.conf", resolv.to_string()),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text)
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let host =
            "search example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n";
        assert_eq!(
            render_resolv_conf(host),
            "search example.org\nnameserver 192.0.2.53\noptions edns0\n"
        );
        let only_local = "nameserver 127.0.0.53\n";
        assert_eq!(render_resolv_conf(only_local), FALLBACK_DNS);
    }

    #[test]
    fn hosts_lists_own_addresses() {
        let h = render_hosts(
            "abc",
            &["172.17.0.2".parse().unwrap()],
            &[("db".into(), "192.0.2.9".parse().unwrap())],
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("172.17.0.2\tabc\n"));
        assert!(h.contains("192.0.2.9\tdb\n"));
    }
}
