//! The embedded DNS resolver: is it up where networks need it?
//!
//! The resolver (crates/berth-dns) serves the networks its snapshot marks
//! `dns: true`, listening on their gateways, port 53, and answers `ping` on
//! its control socket. [`gather`] reads exactly that — the snapshot the
//! engine wrote, a `ping`, the host's UDP sockets — into [`DnsFacts`]; the
//! check itself is pure. With no DNS-enabled network it is "not
//! applicable". (When the engine exposes the resolver's state itself,
//! `gather` is the one place to read it from.)

use super::Finding;
use berth_core::kernel::facts::listeners;
use berth_core::model::Proto;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the check needs to know about the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsFacts {
    /// Networks the resolver must serve: name and gateways.
    pub networks: Vec<(String, Vec<IpAddr>)>,
    /// Generation of the snapshot written for it.
    pub snapshot_generation: Option<u64>,
    /// The control socket.
    pub control: PathBuf,
    /// What `ping` answered: the generation served, or why it failed.
    pub ping: Result<u64, String>,
    /// Gateways with a UDP socket bound on port 53 (or on every address).
    pub listening: Vec<IpAddr>,
}

impl Default for DnsFacts {
    fn default() -> Self {
        DnsFacts {
            networks: Vec::new(),
            snapshot_generation: None,
            control: PathBuf::new(),
            ping: Err("not asked".into()),
            listening: Vec::new(),
        }
    }
}

/// Where the engine keeps the resolver's snapshot and control socket.
fn files(run: &Path) -> (PathBuf, PathBuf) {
    let dir = run.join("dns");
    (dir.join("snapshot.json"), dir.join("control.sock"))
}

/// One request on the control socket (`ping` → `ok GENERATION`).
fn ping(path: &Path) -> Result<u64, String> {
    let mut s = UnixStream::connect(path).map_err(|e| e.to_string())?;
    let t = Some(Duration::from_millis(500));
    s.set_read_timeout(t).map_err(|e| e.to_string())?;
    s.write_all(b"ping\n").map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(&s)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    line.trim()
        .strip_prefix("ok ")
        .and_then(|g| g.parse().ok())
        .ok_or_else(|| format!("unexpected answer {:?}", line.trim()))
}

/// Reads the resolver's state (read-only).
pub fn gather(run: &Path) -> DnsFacts {
    let (snapshot, control) = files(run);
    let json: serde_json::Value = std::fs::read_to_string(&snapshot)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let networks: Vec<(String, Vec<IpAddr>)> = json["networks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["dns"].as_bool() == Some(true))
        .map(|n| {
            let gws = n["gateways"].as_array().into_iter().flatten();
            let gws = gws.filter_map(|g| g.as_str()?.parse().ok()).collect();
            (n["name"].as_str().unwrap_or_default().to_string(), gws)
        })
        .collect();
    if networks.is_empty() {
        return DnsFacts {
            control,
            ..Default::default()
        };
    }
    let bound: Vec<IpAddr> = listeners()
        .into_iter()
        .filter(|l| l.proto == Proto::Udp && l.port == 53)
        .map(|l| l.addr)
        .collect();
    let listening = networks
        .iter()
        .flat_map(|(_, g)| g.iter().copied())
        .filter(|g| bound.iter().any(|b| b == g || b.is_unspecified()))
        .collect();
    DnsFacts {
        snapshot_generation: json["generation"].as_u64(),
        ping: ping(&control),
        control,
        listening,
        networks,
    }
}

/// The `dns` check.
pub fn check(d: &DnsFacts) -> Vec<Finding> {
    if d.networks.is_empty() {
        return vec![Finding::ok(
            "dns",
            "not applicable: no network uses berth's embedded DNS",
        )];
    }
    let names: Vec<&str> = d.networks.iter().map(|(n, _)| n.as_str()).collect();
    let fix = "berth system reconcile (starts the resolver and reloads its snapshot)";
    let served = match &d.ping {
        Err(e) => {
            return vec![Finding::fail(
                "dns",
                format!("the DNS resolver does not answer on {} ({e}): containers of {} cannot resolve names", d.control.display(), names.join(", ")),
                fix,
            )]
        }
        Ok(g) => *g,
    };
    let mut out = Vec::new();
    if d.snapshot_generation.is_some_and(|g| g != served) {
        out.push(Finding::warn(
            "dns",
            format!("the resolver serves snapshot {served}, not the latest one written: recent containers may not resolve"),
            fix,
        ));
    }
    for (name, gws) in &d.networks {
        for gw in gws.iter().filter(|g| !d.listening.contains(g)) {
            out.push(Finding::fail(
                "dns",
                format!(
                    "nothing listens on {gw} port 53 (UDP), the resolver address of network {name}"
                ),
                fix,
            ));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "dns",
            format!(
                "the resolver answers (snapshot {served}) and listens for {}",
                names.join(", ")
            ),
        ));
    }
    out
}
