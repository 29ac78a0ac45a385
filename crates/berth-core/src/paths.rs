//! Where berth keeps its files.
//!
//! Persistent state (the SQLite database, per-container files) lives under the
//! state root (`/var/lib/berth` by default); runtime files that must vanish on
//! reboot (namespace bind mounts, locks, the boot marker) live under the
//! runtime dir (`/run/berth`). `--root DIR` / `BERTH_ROOT=DIR` relocates both:
//! state goes to `DIR` and runtime files to `DIR/run`.
//!
//! Both are root's alone: the directories are 0700 and the database (it
//! holds `-e` values) and the logs 0600; [`Paths::secure`] makes them so on
//! every open, tightening a root made by an older, looser berth.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
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

    /// Creates the state root, its `containers` dir and the runtime dir
    /// as 0700 and the database as 0600 (its WAL and shared-memory files
    /// take its mode), and tightens any of them found looser. A few
    /// `stat`s when nothing needs doing.
    pub fn secure(&self) -> std::io::Result<()> {
        private_dir(&self.state)?;
        private_dir(&self.state.join("containers"))?;
        private_dir(&self.run)?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.db())
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.db().into_os_string();
            name.push(suffix);
            private_file(Path::new(&name))?;
        }
        Ok(())
    }
}

/// Creates `dir` (and its parents) if missing, as 0700, and makes it 0700
/// if anyone but its owner may enter it.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    tighten(dir, 0o700)
}

/// Opens lock file `path` (0600), creating it if missing.
pub fn lock_file(path: &Path) -> crate::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| crate::Error::internal(format!("cannot open {}: {e}", path.display())))
}

/// Makes file `path` 0600 if anyone but its owner may read it; a missing
/// file is fine.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    match tighten(path, 0o600) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn tighten(path: &Path, mode: u32) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_loose_state_root_is_tightened() {
        let dir = std::env::temp_dir().join(format!("berth-paths-{}", std::process::id()));
        let paths = Paths::new(Some(&dir));
        // What an older berth left: 0755 directories, a 0644 database.
        std::fs::create_dir_all(dir.join("containers")).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(paths.db(), "").unwrap();
        std::fs::write(dir.join("berth.db-wal"), "").unwrap();
        std::fs::set_permissions(paths.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
        paths.secure().unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("containers")), 0o700);
        assert_eq!(mode(&paths.run), 0o700);
        assert_eq!(mode(&paths.db()), 0o600);
        assert_eq!(mode(&dir.join("berth.db-wal")), 0o600);
        // Stricter modes are left as they are.
        std::fs::set_permissions(&paths.run, std::fs::Permissions::from_mode(0o500)).unwrap();
        paths.secure().unwrap();
        assert_eq!(mode(&paths.run), 0o500);
        std::fs::set_permissions(&paths.run, std::fs::Permissions::from_mode(0o700)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
