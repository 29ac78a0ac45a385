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

/// What goes into a container's resolv.conf besides the host's defaults.
#[derive(Debug, Default)]
pub struct ResolvConf<'a> {
    /// Nameservers replacing the host's (the embedded DNS's gateway, or `--dns`).
    pub nameservers: Option<Vec<String>>,
    /// `--dns-search` (replaces the host's search line when non-empty).
    pub search: &'a [String],
    /// `--dns-option` (replaces the host's options when non-empty).
    pub options: &'a [String],
}

/// `/etc/resolv.conf` of a container: the host's file (minus loopback
/// nameservers, unreachable from a container), with berth's overrides.
pub fn render_resolv_conf(host: &str, over: &ResolvConf) -> String {
    let mut servers = Vec::new();
    let mut search = Vec::new();
    let mut options = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ip) = words
                    .next()
                    .filter(|a| a.parse::<IpAddr>().is_ok_and(|ip| !ip.is_loopback()))
                {
                    servers.push(ip.to_string());
                }
            }
            Some("search") | Some("domain") => search = words.map(String::from).collect(),
            Some("options") => options.extend(words.map(String::from)),
            _ => {}
        }
    }
    let servers = over.nameservers.clone().unwrap_or(servers);
    let mut out = String::new();
    if servers.is_empty() {
        out.push_str(FALLBACK_DNS);
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    // `--dns-search .` (Docker's spelling): no search domain at all.
    let search = match over.search {
        [] => search,
        [dot] if dot == "." => Vec::new(),
        given => given.to_vec(),
    };
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    let options = if over.options.is_empty() {
        options
    } else {
        over.options.to_vec()
    };
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// Writes the three files into `dir` (those whose text changed).
pub fn write_all(dir: &Path, hostname: &str, hosts: &str, resolv: &str) -> Result<()> {
    crate::paths::private_dir(dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    for (name, text) in [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts.to_string()),
        ("resolv.conf", resolv.to_string()),
    ] {
        let p = dir.join(name);
        write_if_changed(&p, &text)
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(())
}

/// Writes `text` to file `p` unless it holds it already. In place (the
/// file is bind-mounted into the container: it keeps its inode), then cut
/// to the new length: truncating a file to zero and writing it again makes
/// ext4 flush it to disk at close (`auto_da_alloc`), which cost a `network
/// connect` or `disconnect` 1-8 ms for the three files.
fn write_if_changed(p: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    // Read back only a file of the new text's size: the container may
    // write to its /etc/hosts, and a file it grew is never read whole.
    let same_size = std::fs::metadata(p).is_ok_and(|m| m.len() == text.len() as u64);
    if same_size && std::fs::read(p).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(p)?;
    f.write_all(text.as_bytes())?;
    f.set_len(text.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_keeps_the_inode_and_cuts_the_old_tail() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("berth-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("hosts");
        write_if_changed(&p, "a long first version\n").unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        write_if_changed(&p, "short\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "short\n");
        assert_eq!(std::fs::metadata(&p).unwrap().ino(), ino);
        write_if_changed(&p, "a longer second version\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "a longer second version\n"
        );
        // Grown by the container (1 MB): cut back to berth's text.
        std::fs::write(&p, vec![b'x'; 1 << 20]).unwrap();
        write_if_changed(&p, "short\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "short\n");
        // Unchanged: not written at all (its modification time stays).
        let before = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_if_changed(&p, "short\n").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let host =
            "search example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n";
        let plain = render_resolv_conf(host, &ResolvConf::default());
        assert_eq!(
            plain,
            "nameserver 192.0.2.53\nsearch example.org\noptions edns0\n"
        );
        assert_eq!(
            render_resolv_conf("nameserver 127.0.0.53\n", &ResolvConf::default()),
            FALLBACK_DNS
        );
        let search = vec!["corp.test".to_string()];
        let opts = vec!["ndots:2".to_string()];
        let embedded = ResolvConf {
            nameservers: Some(vec!["172.18.0.1".into()]),
            search: &search,
            options: &opts,
        };
        assert_eq!(
            render_resolv_conf(host, &embedded),
            "nameserver 172.18.0.1\nsearch corp.test\noptions ndots:2\n"
        );
        let none = vec![".".to_string()];
        let no_search = ResolvConf {
            search: &none,
            ..ResolvConf::default()
        };
        assert_eq!(
            render_resolv_conf(host, &no_search),
            "nameserver 192.0.2.53\noptions edns0\n"
        );
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
