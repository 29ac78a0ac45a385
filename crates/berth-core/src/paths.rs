//! Where berth keeps its files.
//!
//! Persistent state (the SQLite database, per-container files) lives under the
//! state root (`/var/lib/berth` by default); runtime files that must vanish on
//! reboot (namespace bind mounts, locks, the boot marker) live under the
//! runtime dir (`/run/berth`). `--root DIR` / `BERTH_ROOT=DIR` relocates both:
//! state goes to `DIR` and runtime files to `DIR/run`.

use std::path::{Path, PathBuf};

/// The file layout of one berth instance.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Persistent state root.
    pub state: PathBuf,
    /// Runtime dir (gone after a reboot).
    pub run: PathBuf,
}

impl Paths {
    /// The default layout, or the one relocated under `root`.
    pub fn new(root: Option<&Path>) -> Paths {
        match root {
            Some(r) => Paths {
                state: r.to_path_buf(),
                run: r.join("run"),
            },
            None => Paths {
                state: PathBuf::from("/var/lib/berth"),
                run: PathBuf::from("/run/berth"),
            },
        }
    }

    /// The SQLite database.
    pub fn db(&self) -> PathBuf {
        self.state.join("berth.db")
    }

    /// Directory of per-container persistent files (hosts, resolv.conf, logs).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.state.join("containers").join(id)
    }

    /// Bind-mount target that keeps a container's network namespace alive.
    pub fn netns(&self, id: &str) -> PathBuf {
        self.run.join("netns").join(id)
    }

    /// Marker written once the runtime dir has been set up since boot.
    pub fn boot_marker(&self) -> PathBuf {
        self.run.join("booted")
    }

    /// Marker saying the kernel holds the ruleset skeleton `version`.
    pub fn ruleset_marker(&self, version: u64) -> PathBuf {
        self.run.join(format!("ruleset-{version:016x}"))
    }

    /// The embedded DNS resolver's files (snapshot, control socket, pids).
    pub fn dns_dir(&self) -> PathBuf {
        self.run.join("dns")
    }

    /// Lock serialising host-wide setup (bootstrap, network create/remove).
    pub fn lock(&self) -> PathBuf {
        self.run.join("berth.lock")
    }
}
