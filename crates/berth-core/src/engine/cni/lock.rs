//! One CNI attachment at a time: ADD, DEL, CHECK and GC of the same
//! attachment (container id + interface) from parallel plugin processes
//! are serialised by an exclusive flock, held from before the record is
//! read until after it is committed. Without it a DEL running beside an
//! ADD of the same attachment could find the record, tear down what was
//! not built yet and forget it, and the ADD would then build a veth and
//! an address nobody records.
//!
//! One small file per live attachment under `RUN/cni/`, named by a hash
//! of the attachment (container ids have no length limit); a DEL removes
//! it while still holding the lock, and a process that was waiting on the
//! removed file takes the lock again on the new one. Two attachments that
//! share a hash only wait for each other.

use crate::error::{Error, Result};
use crate::paths::Paths;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// An exclusive lock on one attachment, released on drop.
pub(crate) struct AttachmentLock {
    lock: Flock<File>,
    path: PathBuf,
}

impl AttachmentLock {
    /// Waits for and takes the lock of attachment (`container_id`, `ifname`).
    pub(crate) fn take(paths: &Paths, container_id: &str, ifname: &str) -> Result<AttachmentLock> {
        let path = lock_path(paths, container_id, ifname)?;
        loop {
            let file = open(&path)?;
            let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| {
                Error::internal(format!("cannot lock {}: {e}", path.display()))
            })?;
            if still_at(&lock, &path)? {
                return Ok(AttachmentLock { lock, path });
            }
        }
    }

    /// Takes the lock of attachment (`container_id`, `ifname`) if no other
    /// process holds it; `None` if one does (it is handling the
    /// attachment). A batch takes many locks without waiting, so it can
    /// never wait for another batch holding some of them.
    pub(crate) fn try_take(
        paths: &Paths,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<AttachmentLock>> {
        let path = lock_path(paths, container_id, ifname)?;
        loop {
            let file = open(&path)?;
            let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => lock,
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
                Err((_, e)) => {
                    return Err(Error::internal(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    )))
                }
            };
            if still_at(&lock, &path)? {
                return Ok(Some(AttachmentLock { lock, path }));
            }
        }
    }

    /// Removes the lock file (the attachment is gone), keeping the lock
    /// until drop.
    pub(crate) fn remove(&self) {
        let _ = &self.lock;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The lock file of attachment (`container_id`, `ifname`), its directory
/// made if needed.
fn lock_path(paths: &Paths, container_id: &str, ifname: &str) -> Result<PathBuf> {
    let dir = paths.run.join("cni");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.join(format!("{:016x}.lock", fnv1a(container_id, ifname))))
}

use crate::paths::lock_file as open;

/// Whether `lock` is still the file at `path` (not one a DEL removed
/// while this process waited for it).
fn still_at(lock: &Flock<File>, path: &Path) -> Result<bool> {
    let held = lock.metadata()?;
    Ok(std::fs::metadata(path).is_ok_and(|m| m.ino() == held.ino() && m.dev() == held.dev()))
}

/// FNV-1a (64 bits) of `container_id`, a NUL and `ifname`. Written by hand
/// (six lines): the name must be the same in every berth binary, which
/// `std`'s hasher does not promise across Rust versions.
fn fnv1a(container_id: &str, ifname: &str) -> u64 {
    let bytes = container_id.bytes().chain([0]).chain(ifname.bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_a_removed_file_is_not_held() {
        assert_eq!(fnv1a("", ""), 0xaf63_bd4c_8601_b7df); // FNV-1a of one NUL byte
        assert_ne!(fnv1a("a", "eth0"), fnv1a("a", "eth1"));
        let dir = std::env::temp_dir().join(format!("berth-cni-lock-{}", std::process::id()));
        let paths = Paths::new(Some(&dir));
        let first = AttachmentLock::take(&paths, "c1", "eth0").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = paths.clone();
        let waiter = std::thread::spawn(move || {
            let second = AttachmentLock::take(&p2, "c1", "eth0").unwrap();
            tx.send(()).unwrap();
            second.remove();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "taken twice");
        // The holder removes the file (a DEL) and releases: the waiter
        // holds the lock of a file that exists again.
        first.remove();
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
