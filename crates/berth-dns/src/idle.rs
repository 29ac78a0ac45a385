//! Leaving when there is nobody to serve.
//!
//! The resolver used to be stopped by the command that removed the last
//! name: that command waited for it to exit, and the next container on a
//! DNS network waited for a new one to start (a `network connect` /
//! `network disconnect` pair of a lone container paid both, ~5-10 ms). Now
//! the resolver stays while it has nothing to serve and leaves on its own
//! once it has served no name for [`IdleExit::after`].
//!
//! Leaving must not race a command that is handing it new names: every
//! command appends its change and asks for the reload while holding the
//! publish lock (`run/dns/publish.lock`). The resolver takes that lock
//! (never waiting for it), reloads once more, and leaves only if it still
//! has no name; it keeps the lock until its control socket is gone, so the
//! next command finds no resolver and starts one.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use crate::server::ServerHandle;

/// When and how an idle resolver leaves.
#[derive(Debug, Clone)]
pub struct IdleExit {
    /// How long it serves no name before it leaves.
    pub after: Duration,
    /// The lock every publisher holds while it hands the resolver a
    /// change (created if missing).
    pub lock: PathBuf,
    /// Files removed, beside the control socket, before the lock is let go
    /// (the resolver's PID file).
    pub remove: Vec<PathBuf>,
}

/// The publish lock, held by a resolver that has decided to leave.
pub type HeldLock = Flock<File>;

/// Completes, with the publish lock held, once the resolver behind
/// `handle` has served no name for `idle.after` and still has none after a
/// last reload under the lock. Checks a few times per `after` (at most
/// once a second).
pub(crate) async fn wait(handle: ServerHandle, idle: IdleExit) -> HeldLock {
    let tick = (idle.after / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut idle_for = Duration::ZERO;
    loop {
        tokio::time::sleep(tick).await;
        if handle.names().await > 0 {
            idle_for = Duration::ZERO;
            continue;
        }
        idle_for += tick;
        if idle_for < idle.after {
            continue;
        }
        let Some(lock) = try_lock(&idle) else {
            continue;
        };
        // A change handed over without a reload (the command gave up
        // waiting) is read now.
        let _ = handle.reload().await;
        if handle.names().await == 0 {
            return lock;
        }
        idle_for = Duration::ZERO;
    }
}

/// The publish lock, if no publisher holds it now.
fn try_lock(idle: &IdleExit) -> Option<HeldLock> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_CLOEXEC)
        .open(&idle.lock)
        .ok()?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).ok()
}
