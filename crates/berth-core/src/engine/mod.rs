//! The engine: the one API every front-end (CLI, CNI plugin, supervisor)
//! uses. Each operation observes the store and the host, plans, records its
//! intent, applies the plan, and commits — or rolls back. Any half-done
//! operation left by a crash is finished or undone by the next berth command
//! (see [`reconcile`]).

mod attach;
mod cni;
mod container;
mod container_plan;
mod dns;
mod docker;
mod drivers;
mod expected;
mod files;
mod forward;
mod host_forwarding;
mod lifecycle;
mod netns_names;
mod network;
mod overlay;
pub mod overlay_report;
mod overlay_sync;
mod overlay_vteps;
mod ports;
pub mod reconcile;
mod recover;
mod veth_names;
mod view;

pub use cni::{CniAdded, CniFailure, CniResult, Status as CniStatus};
pub use container::StartSpec;
pub use dns::{host_upstreams, DnsStatus};
pub use overlay_sync::SyncReport;
pub use reconcile::ReconcileReport;

use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::plan::{Applier, Plan};
use crate::store::Store;
use std::fs::File;
use std::path::Path;

/// An open berth instance: its files, store and (lazily) kernel handles.
pub struct Engine {
    /// Where berth keeps its files.
    pub paths: Paths,
    store: Store,
    applier: Option<Applier>,
}

impl Engine {
    /// Opens berth's state under `root` (default layout when `None`),
    /// setting the host up if this is the first command since boot and
    /// finishing or undoing any operation a crashed berth left behind.
    pub fn open(root: Option<&Path>) -> Result<Engine> {
        let paths = Paths::new(root);
        // Without root, a root-owned state root is unreadable: say why.
        let store = Store::open(&paths).map_err(|e| match require_root() {
            Err(not_root) => Error::new(crate::ErrorKind::Permission, format!("{not_root} ({e})")),
            Ok(()) => e,
        })?;
        let mut engine = Engine {
            paths,
            store,
            applier: None,
        };
        if !engine.paths.boot_marker().exists() {
            engine.bootstrap()?;
            let marker = engine
                .paths
                .ruleset_marker(crate::firewall::skeleton_version());
            std::fs::write(marker, crate::model::now_rfc3339())?;
        }
        engine.recover_stale_ops(false)?;
        engine.upgrade_ruleset()?;
        Ok(engine)
    }

    /// After an upgrade of berth whose firewall skeleton changed, re-renders
    /// berth's tables once (the kernel still holds the old skeleton).
    fn upgrade_ruleset(&mut self) -> Result<()> {
        let marker = self
            .paths
            .ruleset_marker(crate::firewall::skeleton_version());
        if marker.exists() || !nix::unistd::geteuid().is_root() {
            return Ok(());
        }
        // Best effort: a failure here must not make every command fail; the
        // marker stays missing so the next command tries again.
        match self.reconcile() {
            Ok(_) => std::fs::write(&marker, crate::model::now_rfc3339())?,
            Err(e) => eprintln!("berth: warning: re-applying the upgraded ruleset failed: {e}; run 'berth system reconcile'"),
        }
        Ok(())
    }

    /// Opens the store only: no host setup, no recovery (read-only commands
    /// that must work without root, and the supervisor's hot path).
    pub fn open_store_only(root: Option<&Path>) -> Result<Engine> {
        let paths = Paths::new(root);
        let store = Store::open(&paths)?;
        Ok(Engine {
            paths,
            store,
            applier: None,
        })
    }

    /// The state store.
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The kernel executor, opened on first use.
    pub fn applier(&mut self) -> Result<&mut Applier> {
        if self.applier.is_none() {
            self.applier = Some(Applier::new()?);
        }
        self.applier
            .as_mut()
            .ok_or_else(|| Error::internal("applier"))
    }

    /// Defers ending the processes left in the namespaces this engine
    /// unpins until [`Engine::sweep_deferred`] (see
    /// [`Applier::defer_sweeps`]).
    pub fn defer_sweeps(&mut self) -> Result<()> {
        self.applier()?.defer_sweeps();
        Ok(())
    }

    /// Ends the processes left in the namespaces unpinned since
    /// [`Engine::defer_sweeps`]; how many there were.
    pub fn sweep_deferred(&mut self) -> usize {
        let keys = match self.applier.as_mut() {
            Some(a) => a.take_deferred(),
            None => return 0,
        };
        keys.into_iter()
            .map(crate::kernel::netns::end_members)
            .sum()
    }

    /// Records `plan` as operation `kind` on `subject` together with
    /// whatever `record` writes, in one transaction; returns the op id.
    fn record<F>(&mut self, kind: &str, subject: &str, plan: &Plan, record: F) -> Result<i64>
    where
        F: FnOnce(&crate::store::Tx) -> Result<()>,
    {
        let text = plan.to_json();
        self.store.write(|tx| {
            record(tx)?;
            tx.insert_op(kind, subject, &text)
        })
    }

    /// Takes the host-wide lock (bootstrap, network create/remove, reconcile).
    fn lock(&self) -> Result<HostLock> {
        HostLock::take(&self.paths.lock())
    }
}

/// An exclusive flock on berth's lock file, released on drop.
pub(crate) struct HostLock {
    _lock: nix::fcntl::Flock<File>,
}

impl HostLock {
    fn take(path: &Path) -> Result<HostLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::internal(format!("cannot lock {}: {e}", path.display())))?;
        Ok(HostLock { _lock: lock })
    }
}

/// Start time (field 22 of /proc/PID/stat, clock ticks since boot) of a
/// process, to tell a live process from a reused PID; `None` when there is
/// no such process or it is dead (a zombie not yet reaped: a killed
/// container whose supervisor died too waits for init to reap it).
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// True when `pid` is alive (not a zombie) and, if known, started at `start`.
pub fn pid_alive(pid: i32, start: Option<u64>) -> bool {
    match (proc_start_time(pid), start) {
        (Some(now), Some(s)) => now == s,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Fails unless berth runs as root (it changes kernel state).
pub fn require_root() -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(Error::new(
            crate::ErrorKind::Permission,
            "berth must run as root (it creates namespaces, links and firewall rules): run it with sudo",
        ))
    }
}
