//! `berth __dns`: the embedded DNS resolver under a watchdog.
//!
//! The engine starts `berth __dns` (in its own session) the first time a
//! DNS-enabled network has a container. That process is the watchdog: it runs
//! the resolver as a child (`berth __dns --child`) and restarts it within
//! 100 ms whenever it dies (killed, crashed), so containers never wait for a
//! resolver; it stops when the resolver shuts down cleanly or berth's runtime
//! dir is gone. If the watchdog itself is killed, the next berth command that
//! touches a DNS-enabled network restarts both.

use anyhow::{anyhow, Result};
use berth_core::paths::Paths;
use std::path::Path;
use std::time::Duration;

/// Runs the watchdog, or with `child` the resolver itself.
pub fn run(root: Option<&Path>, child: bool) -> Result<i32> {
    let paths = Paths::new(root);
    let dir = paths.run.join("dns");
    std::fs::create_dir_all(&dir)?;
    if child {
        std::fs::write(dir.join("resolver.pid"), std::process::id().to_string())?;
        let config =
            berth_dns::ServerConfig::new(dir.join("snapshot.json"), dir.join("control.sock"));
        berth_dns::serve(config, berth_dns::shutdown_signal())
            .map_err(|e| anyhow!("DNS resolver: {e}"))?;
        return Ok(0);
    }
    std::fs::write(dir.join("watchdog.pid"), std::process::id().to_string())?;
    let control = dir.join("control.sock");
    loop {
        // Another resolver answers (started by another watchdog): it owns
        // the control socket and the listeners; this watchdog is not needed.
        if berth_dns::control::ping(&control, Duration::from_millis(200)).is_ok() {
            return Ok(0);
        }
        let mut cmd = std::process::Command::new("/proc/self/exe");
        if let Some(r) = root {
            cmd.arg("--root").arg(r);
        }
        let status = cmd.args(["__dns", "--child"]).status()?;
        if status.success() || !dir.exists() {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
