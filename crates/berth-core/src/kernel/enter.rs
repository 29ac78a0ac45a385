//! Running a closure inside another network namespace on the calling
//! thread, which then goes back to its own.
//!
//! setns(2) moves only the calling thread, so the other way is a thread
//! that enters the namespace and dies. That thread costs more than what it
//! does for a CNI ADD (its stack, an arena of malloc's, and above all a
//! wake-up on a CPU that other work may hold: 1-4 ms on a loaded 2-CPU
//! VM, issue 13), so the calling thread goes in and comes back instead.
//! Coming back is the one thing that must not fail: a thread left in a
//! container's namespace would apply the host's changes there. The guard
//! that restores it does so on unwinding too, and aborts the process if
//! the kernel refuses (it cannot, short of running out of memory: the
//! thread was in that namespace a moment ago and holds an fd to it).

use crate::error::{Error, Result};
use std::os::fd::{AsFd, OwnedFd};

/// Sends the calling thread back to its namespace when dropped.
struct Back(OwnedFd);

impl Drop for Back {
    fn drop(&mut self) {
        if nix::sched::setns(&self.0, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
            // Never go on in the wrong namespace (see the module docs).
            std::process::abort();
        }
    }
}

/// Runs `f` with the calling thread in the network namespace `ns` (a
/// netns fd), then puts the thread back where it was, whatever `f` did.
pub fn in_netns<T>(ns: impl AsFd, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let _back = leave(|| {
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::kernel(format!("cannot enter network namespace: {e}")))
    })?;
    f()
}

/// Runs `f` with the calling thread in a new network namespace (made for
/// it with unshare), then puts the thread back where it was; the new
/// namespace lives on if `f` pinned it or kept an fd to it.
pub fn in_new_netns<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let _back = leave(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::kernel(format!("cannot create a network namespace: {e}")))
    })?;
    f()
}

/// Moves the calling thread with `go` and returns the guard that brings
/// it back to the namespace it was in.
fn leave(go: impl FnOnce() -> Result<()>) -> Result<Back> {
    let own = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::kernel(format!("cannot open this thread's network namespace: {e}")))?;
    go()?;
    Ok(Back(own.into()))
}

#[cfg(test)]
mod tests {
    use super::{in_netns, in_new_netns};

    fn here() -> u64 {
        let m = std::fs::metadata("/proc/thread-self/ns/net").unwrap();
        std::os::unix::fs::MetadataExt::ino(&m)
    }

    /// A fresh, empty namespace (made by a thread that unshares its own;
    /// the host's is never changed), or `None` without the privilege.
    fn fresh() -> Option<std::fs::File> {
        std::thread::spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
            std::fs::File::open("/proc/thread-self/ns/net").ok()
        })
        .join()
        .unwrap()
    }

    #[test]
    fn runs_inside_and_comes_back_after_success_and_failure() {
        let Some(ns) = fresh() else {
            eprintln!("skipped: creating a network namespace needs CAP_SYS_ADMIN");
            return;
        };
        let ns_ino = std::os::unix::fs::MetadataExt::ino(&ns.metadata().unwrap());
        let home = here();
        assert_ne!(home, ns_ino);
        assert_eq!(in_netns(&ns, || Ok(here())).unwrap(), ns_ino);
        assert_eq!(here(), home);
        let failed: crate::Result<u64> = in_netns(&ns, || Err(crate::Error::internal("boom")));
        assert!(failed.is_err());
        assert_eq!(here(), home);
        let made = in_new_netns(|| {
            Ok((
                here(),
                std::fs::File::open("/proc/thread-self/ns/net").unwrap(),
            ))
        });
        let (new_ino, new_ns) = made.unwrap();
        assert_ne!(new_ino, home);
        assert_eq!(here(), home, "back from the new namespace");
        assert_eq!(
            in_netns(&new_ns, || Ok(here())).unwrap(),
            new_ino,
            "it lives on"
        );
        let panicked =
            std::panic::catch_unwind(|| in_netns(&ns, || -> crate::Result<()> { panic!("boom") }));
        assert!(panicked.is_err());
        assert_eq!(here(), home);
    }
}
