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
mod dns_sync;
mod docker;
mod drivers;
mod endpoint;
mod expected;
mod files;
mod forward;
mod heal;
mod host_forwarding;
mod lifecycle;
mod netns_names;
mod network;
mod network_ipam;
mod overlay;
mod overlay_follow;
pub mod overlay_report;
mod overlay_sync;
mod overlay_vteps;
mod ports;
pub mod reconcile;
mod recover;
mod retire;
mod run;
mod userland;
mod veth_names;
mod view;

pub use cni::{CniAdded, CniFailure, CniResult, Status as CniStatus};
pub use container::{Created, StartSpec};
pub use dns::{host_upstreams, DnsStatus};
pub use heal::FirewallFingerprint;
pub use overlay_follow::{Followed, Follower};
pub use overlay_sync::SyncReport;
pub use reconcile::ReconcileReport;
pub use userland::UserlandForward;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::kernel::{Kernel, Real};
use crate::paths::Paths;
use crate::store::{Owner, Store};
use std::fs::File;
use std::path::Path;

/// An open berth instance: its files, its store and the kernel it drives.
pub struct Engine {
    /// Where berth keeps its files.
    pub paths: Paths,
    store: Store,
    kernel: Box<dyn Kernel>,
    /// This process, as the owner of the operations it records.
    owner: Owner,
    config: Config,
    /// Called once, right after the next operation's intent is committed
    /// ([`Engine::after_next_intent`]).
    after_intent: Option<Box<dyn FnOnce()>>,
}

impl Engine {
    /// Opens berth's state as `config` says (its root, its cluster
    /// store...), setting the host up if this is the first command since
    /// boot and finishing or undoing any operation a crashed berth left
    /// behind.
    pub fn open(config: &Config) -> Result<Engine> {
        let mut clock = cni::Clock::of("open", config.trace_steps);
        let routes = config
            .routes_early
            .and_then(crate::kernel::RoutesEarly::start);
        let paths = Paths::new(config.root.as_deref());
        // Without root, a root-owned state root is unreadable: say why.
        let store = Store::open(&paths).map_err(|e| match require_root() {
            Err(not_root) => Error::new(crate::ErrorKind::Permission, format!("{not_root} ({e})")),
            Ok(()) => e,
        })?;
        clock.lap("store");
        let kernel = Real::new(config.nft_spawn, config.failpoint.clone()).with_routes(routes);
        let mut engine = Engine::with_kernel(config.clone(), store, Box::new(kernel));
        engine.start()?;
        clock.lap("start");
        Ok(engine)
    }

    /// An engine over `store` and `kernel` that has not looked at the host
    /// yet (see [`Engine::start`]); [`Engine::open`] is this with the real
    /// kernel. Tests give it a [`crate::kernel::fake::Fake`].
    pub fn with_kernel(config: Config, store: Store, kernel: Box<dyn Kernel>) -> Engine {
        let (pid, start) = kernel.this_process();
        Engine {
            paths: Paths::new(config.root.as_deref()),
            store,
            kernel,
            owner: Owner { pid, start },
            config,
            after_intent: None,
        }
    }

    /// Calls `f` once the next operation has recorded its intent (its
    /// subject is then in the store, e.g. a new container's record) and
    /// before it acts: `run -d` lets the container's supervisor prepare
    /// the process meanwhile (issue 13, goal 7).
    pub fn after_next_intent(&mut self, f: Box<dyn FnOnce()>) {
        self.after_intent = Some(f);
    }

    /// What every command does first: sets the host up if this is the
    /// first command since boot, and finishes or undoes any operation a
    /// crashed berth left behind.
    pub fn start(&mut self) -> Result<()> {
        if !self.paths.boot_marker().exists() {
            self.bootstrap()?;
            let marker = self
                .paths
                .ruleset_marker(crate::firewall::skeleton_version());
            std::fs::write(marker, crate::model::now_rfc3339())?;
        }
        self.recover_stale_ops(false)?;
        self.upgrade_ruleset()
    }

    /// After an upgrade of berth whose firewall skeleton changed, re-renders
    /// berth's tables once (the kernel still holds the old skeleton).
    fn upgrade_ruleset(&mut self) -> Result<()> {
        let marker = self
            .paths
            .ruleset_marker(crate::firewall::skeleton_version());
        if marker.exists() || !self.kernel.is_root() {
            return Ok(());
        }
        // Best effort: a failure here must not make every command fail; the
        // marker stays missing so the next command tries again.
        match self.reconcile() {
            Ok(_) => std::fs::write(&marker, crate::model::now_rfc3339())?,
            Err(e) => tracing::warn!(
                "re-applying the upgraded ruleset failed: {e}; run 'berth system reconcile'"
            ),
        }
        Ok(())
    }

    /// Opens the store only: no host setup, no recovery (read-only commands
    /// that must work without root, and the supervisor's hot path).
    pub fn open_store_only(config: &Config) -> Result<Engine> {
        let store = Store::open(&Paths::new(config.root.as_deref()))?;
        let kernel = Real::new(config.nft_spawn, config.failpoint.clone());
        Ok(Engine::with_kernel(config.clone(), store, Box::new(kernel)))
    }

    /// The settings the engine was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state store.
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Defers ending the processes left in the namespaces this engine
    /// unpins until [`Engine::sweep_deferred`]: for a supervisor, which
    /// does it after recording the exit that `stop` and `rm -f` wait for.
    pub fn defer_sweeps(&mut self) -> Result<()> {
        self.kernel.defer_sweeps();
        Ok(())
    }

    /// Ends the processes left in the namespaces unpinned since
    /// [`Engine::defer_sweeps`]; how many there were.
    pub fn sweep_deferred(&mut self) -> usize {
        self.kernel.sweep_deferred()
    }

    /// Fails unless the kernel lets berth change its state.
    fn require_root(&self) -> Result<()> {
        if self.kernel.is_root() {
            Ok(())
        } else {
            Err(not_root())
        }
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

pub use crate::kernel::process::{pid_alive, proc_start_time};

/// Fails unless berth runs as root (it changes kernel state).
pub fn require_root() -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(not_root())
    }
}

fn not_root() -> Error {
    Error::new(
        crate::ErrorKind::Permission,
        "berth must run as root (it creates namespaces, links and firewall rules): run it with sudo",
    )
}

#[cfg(test)]
mod tests;
