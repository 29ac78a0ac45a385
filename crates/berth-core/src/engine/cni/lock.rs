//! One CNI attachment at a time: ADD, DEL, CHECK and GC of the same
//! attachment (container id + interface) from parallel plugin processes
//! are serialised by an exclusive lock, held from before the record is
//! read until after it is committed. Without it a DEL running beside an
//! ADD of the same attachment could find the record, tear down what was
//! not built yet and forget it, and the ADD would then build a veth and
//! an address nobody records.
//!
//! The locks are byte-range locks on one file, `RUN/cni.lock`: one byte
//! per attachment, at an offset made of a hash of the attachment
//! (container ids have no length limit). They are open file description
//! locks (`F_OFD_SETLKW`): like `flock`, each lock belongs to its own
//! `open` of the file, so two in one process exclude each other, and the
//! kernel releases it when that file is closed, the process's exit or
//! crash included. Nothing is created or removed per attachment: no
//! stale lock files, and no file-system work on the hot path (a file per
//! attachment cost an ADD its creation and a DEL its unlink; issue 13).
//! The file is in berth's runtime dir (0700, root's), out of a
//! container's reach. Two attachments whose hashes agree (62 bits) only
//! wait for each other.

use crate::error::{Error, Result};
use crate::paths::Paths;
use nix::fcntl::FcntlArg;
use std::fs::File;

/// An exclusive lock on one attachment, released on drop (the file is
/// closed).
pub(crate) struct AttachmentLock {
    _file: File,
}

impl AttachmentLock {
    /// Waits for and takes the lock of attachment (`container_id`, `ifname`).
    pub(crate) fn take(paths: &Paths, container_id: &str, ifname: &str) -> Result<AttachmentLock> {
        let (file, range) = open(paths, container_id, ifname)?;
        loop {
            match nix::fcntl::fcntl(&file, FcntlArg::F_OFD_SETLKW(&range)) {
                Ok(_) => return Ok(AttachmentLock { _file: file }),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(lock_error(paths, e)),
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
        let (file, range) = open(paths, container_id, ifname)?;
        match nix::fcntl::fcntl(&file, FcntlArg::F_OFD_SETLK(&range)) {
            Ok(_) => Ok(Some(AttachmentLock { _file: file })),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => Ok(None),
            Err(e) => Err(lock_error(paths, e)),
        }
    }
}

/// A new open of the lock file (each lock needs its own: see the module
/// docs) and the byte range of attachment (`container_id`, `ifname`).
fn open(paths: &Paths, container_id: &str, ifname: &str) -> Result<(File, libc::flock)> {
    let file = crate::paths::lock_file(&lock_path(paths))?;
    // SAFETY: flock is a plain C struct; all zeroes is a valid value.
    let mut range: libc::flock = unsafe { std::mem::zeroed() };
    range.l_type = libc::F_WRLCK as libc::c_short;
    range.l_whence = libc::SEEK_SET as libc::c_short;
    range.l_start = offset(container_id, ifname);
    range.l_len = 1;
    Ok((file, range))
}

/// The lock file, in the runtime dir (which `Paths::secure` made).
fn lock_path(paths: &Paths) -> std::path::PathBuf {
    paths.run.join("cni.lock")
}

fn lock_error(paths: &Paths, e: nix::errno::Errno) -> Error {
    Error::internal(format!("cannot lock {}: {e}", lock_path(paths).display()))
}

/// The byte of attachment (`container_id`, `ifname`): its hash's top 62
/// bits, so that the offset and the offset + 1 stay positive `off_t`s.
fn offset(container_id: &str, ifname: &str) -> libc::off_t {
    (fnv1a(container_id, ifname) >> 2) as libc::off_t
}

/// FNV-1a (64 bits) of `container_id`, a NUL and `ifname`. Written by hand
/// (six lines): the offset must be the same in every berth binary, which
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
    use std::time::Duration;

    fn paths(name: &str) -> Paths {
        let dir =
            std::env::temp_dir().join(format!("berth-cni-lock-{name}-{}", std::process::id()));
        let paths = Paths::new(Some(&dir));
        std::fs::create_dir_all(&paths.run).unwrap();
        paths
    }

    #[test]
    fn one_holder_at_a_time() {
        assert_eq!(fnv1a("", ""), 0xaf63_bd4c_8601_b7df); // FNV-1a of one NUL byte
        assert_ne!(offset("a", "eth0"), offset("a", "eth1"));
        assert!(offset("a", "eth0") >= 0 && offset("a", "eth0") < libc::off_t::MAX);
        let paths = paths("one");
        let first = AttachmentLock::take(&paths, "c1", "eth0").unwrap();
        // Another attachment is not held up; the same one is, even in
        // this process (each lock is its own open of the file).
        let other = AttachmentLock::try_take(&paths, "c1", "eth1").unwrap();
        assert!(other.is_some(), "another attachment's lock was refused");
        assert!(AttachmentLock::try_take(&paths, "c1", "eth0")
            .unwrap()
            .is_none());
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = paths.clone();
        let waiter = std::thread::spawn(move || {
            let second = AttachmentLock::take(&p2, "c1", "eth0").unwrap();
            tx.send(()).unwrap();
            drop(second);
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "taken twice");
        drop(first);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
        // Released on drop: free again, and nothing was left per attachment.
        assert!(AttachmentLock::try_take(&paths, "c1", "eth0")
            .unwrap()
            .is_some());
        let files: Vec<_> = std::fs::read_dir(&paths.run).unwrap().collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let _ = std::fs::remove_dir_all(&paths.state);
    }

    /// A process that dies holding a lock (a plugin killed mid-ADD) does
    /// not leave it held: the kernel drops it with the process's files.
    #[test]
    fn a_dead_holder_holds_nothing() {
        use std::os::unix::ffi::OsStrExt;
        let paths = paths("dead");
        let (_, range) = open(&paths, "c1", "eth0").unwrap();
        let path = std::ffi::CString::new(lock_path(&paths).as_os_str().as_bytes()).unwrap();
        // SAFETY: the child calls only async-signal-safe functions (open,
        // fcntl, pause, _exit) on memory made before the fork.
        let child = match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_RDWR);
                if fd < 0 || libc::fcntl(fd, libc::F_OFD_SETLK, &range) != 0 {
                    libc::_exit(1);
                }
                loop {
                    libc::pause();
                }
            },
            nix::unistd::ForkResult::Parent { child } => child,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while AttachmentLock::try_take(&paths, "c1", "eth0")
            .unwrap()
            .is_some()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the child never took the lock"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL).unwrap();
        nix::sys::wait::waitpid(child, None).unwrap();
        let freed = AttachmentLock::take(&paths, "c1", "eth0");
        assert!(freed.is_ok());
        let _ = std::fs::remove_dir_all(&paths.state);
    }
}
