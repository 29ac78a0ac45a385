//! `berth __dns`: the embedded DNS resolver under a watchdog.
//!
//! The engine starts `berth __dns` (in its own session) the first time a
//! DNS-enabled network has a container. That process is the watchdog: it runs
//! the resolver as a child (`berth __dns --child`) and restarts it within
//! 100 ms whenever it dies (killed, crashed), so containers never wait for a
//! resolver; it stops when the resolver shuts down cleanly or berth's runtime
//! dir is gone. If the watchdog itself is killed, the next berth command that
//! touches a DNS-enabled network restarts both.
//!
//! Once the resolver has had no name to serve for [`IDLE_EXIT`] (or
//! `BERTH_DNS_IDLE_EXIT` seconds), it shuts down cleanly and the watchdog
//! with it (`berth_dns::idle`): a command removing the last name no longer
//! waits for it to exit, nor the next one for it to start.

use anyhow::{anyhow, Result};
use berth_core::paths::Paths;
use std::path::Path;
use std::time::Duration;

/// How long the resolver stays without a name to serve.
pub const IDLE_EXIT: Duration = Duration::from_secs(30);

/// [`IDLE_EXIT`], or `BERTH_DNS_IDLE_EXIT` (seconds, fractions allowed)
/// when it is set to a valid number.
fn idle_exit() -> Duration {
    std::env::var("BERTH_DNS_IDLE_EXIT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(IDLE_EXIT)
}

/// Removes PID file `path` if it still names this process (a newer
/// resolver or watchdog may have written its own there).
fn remove_own_pid_file(path: &Path) {
    let mine = std::process::id().to_string();
    if std::fs::read_to_string(path).is_ok_and(|p| p.trim() == mine) {
        let _ = std::fs::remove_file(path);
    }
}

/// Runs the watchdog, or with `child` the resolver itself.
pub fn run(root: Option<&Path>, child: bool) -> Result<i32> {
    let paths = Paths::new(root);
    let dir = paths.run.join("dns");
    std::fs::create_dir_all(&dir)?;
    if child {
        let pid_file = dir.join("resolver.pid");
        std::fs::write(&pid_file, std::process::id().to_string())?;
        let mut config =
            berth_dns::ServerConfig::new(dir.join("snapshot.json"), dir.join("control.sock"));
        config.idle_exit = Some(berth_dns::idle::IdleExit {
            after: idle_exit(),
            lock: dir.join("publish.lock"),
            remove: vec![pid_file],
        });
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
            remove_own_pid_file(&dir.join("watchdog.pid"));
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
