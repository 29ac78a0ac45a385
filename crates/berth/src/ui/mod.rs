//! `berth ui`: a live web page of the topology, served by the berth binary
//! itself.
//!
//! The page (HTML, JS and CSS in `assets/`, built into the binary with
//! `include_str!`) polls `/api/topology` (the JSON of `berth topology
//! --format json`) once a second and redraws its panels, and reloads
//! `/api/topology.svg` (the diagram laid out by layout-rs) when the
//! topology's shape changes. Served with `tiny_http`: a small, synchronous,
//! well-kept HTTP/1.1 server without an async runtime — berth's commands
//! are synchronous, the page is for one person, and every request is a
//! short read of the store and the kernel, so one thread answering requests
//! in turn is enough.
//!
//! It listens on loopback by default: the page shows every container's
//! addresses, so a non-loopback `--listen` needs `--allow-remote`.

mod server;

use anyhow::{anyhow, Context, Result};
use std::net::SocketAddr;
use std::path::Path;

/// Checks `listen`: a socket address, loopback unless `allow_remote`.
pub fn parse_listen(listen: &str, allow_remote: bool) -> Result<SocketAddr> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        anyhow!("invalid --listen {listen:?}: expected ADDRESS:PORT, e.g. 127.0.0.1:8900")
    })?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(anyhow!(
            "refusing to serve the topology on {addr}, which is not a loopback address: anyone who reaches it sees every container's addresses; add --allow-remote to do it anyway"
        ));
    }
    Ok(addr)
}

/// `berth ui [--listen ADDR:PORT] [--allow-remote]`: serves until killed.
pub fn run(root: Option<&Path>, listen: &str, allow_remote: bool) -> Result<i32> {
    let addr = parse_listen(listen, allow_remote)?;
    berth_core::engine::require_root()?;
    let engine = crate::config::open(root)?;
    let http = tiny_http::Server::http(addr)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!("berth ui: serving http://{addr}/ (Ctrl-C to stop)");
    server::serve(&http, engine, addr);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_listen;

    #[test]
    fn loopback_only_unless_allowed() {
        assert!(parse_listen("127.0.0.1:8900", false).is_ok());
        assert!(parse_listen("[::1]:8900", false).is_ok());
        let err = parse_listen("0.0.0.0:8900", false).unwrap_err().to_string();
        assert!(err.contains("--allow-remote"), "{err}");
        assert!(parse_listen("0.0.0.0:8900", true).is_ok());
        assert!(parse_listen("localhost", false).is_err());
    }
}
