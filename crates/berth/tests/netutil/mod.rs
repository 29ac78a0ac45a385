//! Network probes shared by the networking tests (isolation, ports,
//! coexist): pings, HTTP requests that report how they failed, and a web
//! root whose CGI script answers with the client's address as the server
//! saw it.
#![allow(dead_code)]

use crate::common::B;
use std::os::unix::fs::PermissionsExt;

/// The lab's address on the LAN.
pub const LAB: &str = "198.51.100.2";
/// The lab's IPv6 address on the LAN.
pub const LAB6: &str = "2001:db8:1::2";
/// The `outside` namespace's address on the LAN.
pub const OUTSIDE: &str = "198.51.100.1";
/// An "internet" address on `outside`.
pub const INTERNET: &str = "203.0.113.1";

/// curl's exit code when the connection was refused (a closed port).
pub const REFUSED: i32 = 7;
/// curl's exit code when it timed out (a dropped packet).
pub const TIMED_OUT: i32 = 28;

/// A CGI script printing the client's address without the brackets and
/// `::ffff:` prefix busybox httpd puts on it (it listens on `[::]`).
const CGI_IP: &str = r#"#!/bin/sh
a=${REMOTE_ADDR#\[}
a=${a%]}
printf 'Content-Type: text/plain\r\n\r\n%s\n' "${a#::ffff:}"
"#;

/// Creates a web root in the lab's temp dir (containers see it only when
/// it is shared with `-v`, as [`httpd`] does): `/index.html` says `body`, `/cgi-bin/ip`
/// prints the client address busybox httpd saw, and `/PORT/index.html`
/// says `pPORT` for each of `ports`. Returns its path.
pub fn www(b: &B, name: &str, body: &str, ports: &[u16]) -> String {
    let dir = b.lab.root().join(name);
    std::fs::create_dir_all(dir.join("cgi-bin")).unwrap();
    std::fs::write(dir.join("index.html"), format!("{body}\n")).unwrap();
    let cgi = dir.join("cgi-bin/ip");
    std::fs::write(&cgi, CGI_IP).unwrap();
    std::fs::set_permissions(&cgi, std::fs::Permissions::from_mode(0o755)).unwrap();
    for p in ports {
        let d = dir.join(p.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.html"), format!("p{p}\n")).unwrap();
    }
    dir.display().to_string()
}

/// `run` arguments serving `dir` with busybox httpd on `port`, in the
/// foreground (the container's main process): the directory is shared
/// read-only with `-v` (a container does not see the lab's temp dir, which
/// holds berth's state root).
pub fn httpd(dir: &str, port: u16) -> String {
    format!("{} busybox httpd -f -p {port} -h {dir}", share(dir))
}

/// `-v DIR:DIR:ro`: the lab's directory `dir` at the same path in a container.
pub fn share(dir: &str) -> String {
    format!("-v {dir}:{dir}:ro")
}

/// How one `busybox ping -c1` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// The echo reply came back (exit 0).
    Answered,
    /// The request left and nothing came back: a drop (exit 1 after
    /// "1 packets transmitted, 0 packets received").
    Dropped,
    /// The request could not even leave: no route ("Network is
    /// unreachable" from sendto, exit 1, no statistics).
    NoRoute,
}

/// The outcome of a ping's output; panics on anything else (a name that
/// does not resolve, `berth exec` failing, a usage error): a negative check
/// must not pass because the probe itself broke.
pub fn ping_outcome(what: &str, out: &std::process::Output) -> Ping {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ping::Answered,
        Some(1) if stdout.contains("1 packets transmitted, 0 packets received") => Ping::Dropped,
        Some(1) if stderr.contains("Network is unreachable") => Ping::NoRoute,
        _ => panic!(
            "{what}: the ping neither crossed nor was dropped ({:?}):\n{stdout}{stderr}",
            out.status
        ),
    }
}

/// `busybox ping -c1 -W1 IP` from container `from`.
pub fn ping(b: &B, from: &str, ip: &str) -> Ping {
    let out = b.berth(&format!("exec {from} busybox ping -c1 -W1 {ip}"));
    ping_outcome(&format!("{from} -> {ip}"), &out)
}

/// `busybox ping -c1 -W1 IP` from namespace `ns` of the lab (`None`: the
/// lab itself).
pub fn ping_in(b: &B, ns: Option<&str>, ip: &str) -> Ping {
    let script = format!("busybox ping -c1 -W1 {ip}");
    let out = match ns {
        Some(ns) => b.lab.in_ns(ns, &script),
        None => b.lab.sh(&script),
    };
    ping_outcome(&format!("{} -> {ip}", ns.unwrap_or("lab")), &out)
}

/// True when a ping from container `from` to `ip` is answered, false when
/// it is dropped ([`Ping::Dropped`]); panics on any other outcome, so that
/// `!pings(..)` asserts a drop, not merely a failure.
pub fn pings(b: &B, from: &str, ip: &str) -> bool {
    match ping(b, from, ip) {
        Ping::Answered => true,
        Ping::Dropped => false,
        other => panic!("{from} -> {ip}: expected an answer or a drop, got {other:?}"),
    }
}

/// [`pings`] for each (from, ip) pair, all at once (a failing ping takes a
/// second); returns the pairs that got an answer (the others were dropped:
/// any other outcome panics).
pub fn answered<'a>(b: &B, pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    std::thread::scope(|s| {
        let probes: Vec<_> = pairs
            .iter()
            .map(|&(from, ip)| s.spawn(move || ((from, ip), pings(b, from, ip))))
            .collect();
        probes
            .into_iter()
            .map(|p| p.join().unwrap())
            .filter(|(_, ok)| *ok)
            .map(|(pair, _)| pair)
            .collect()
    })
}

/// Body of `curl URL` from namespace `ns` of the lab (`None`: the lab itself)
/// or the curl exit code when it fails. Waits at most `secs` seconds.
pub fn curl_in(b: &B, ns: Option<&str>, url: &str, secs: u32) -> Result<String, i32> {
    let script = format!("curl -sS -g -m {secs} {url}");
    let out = match ns {
        Some(ns) => b.lab.in_ns(ns, &script),
        None => b.lab.sh(&script),
    };
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(out.status.code().unwrap_or(-1))
    }
}

/// Like [`curl_in`] from inside container `name` (`berth exec`).
pub fn curl_from(b: &B, name: &str, url: &str, secs: u32) -> Result<String, i32> {
    let out = b.berth(&format!("exec {name} curl -sS -g -m {secs} {url}"));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(out.status.code().unwrap_or(-1))
    }
}

/// Polls `curl_in` until it returns a body (a server just started), up to
/// about 3 s; returns the last result.
pub fn curl_ready(b: &B, ns: Option<&str>, url: &str) -> Result<String, i32> {
    let mut last = Err(-1);
    for _ in 0..30 {
        last = curl_in(b, ns, url, 2);
        if last.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    last
}

/// A snapshot of the lab taken once links have settled (a bridge's
/// operstate and addresses change for a moment after a port comes up).
pub fn settled_snapshot(b: &B) -> berth_lab::Snapshot {
    let mut last = b.lab.snapshot().unwrap();
    for _ in 0..30 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = b.lab.snapshot().unwrap();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}
