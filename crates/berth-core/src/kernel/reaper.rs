//! The reaper of retired veths (`berth __reap`, see [`super::retire`]) and
//! how a removal reaches it.
//!
//! Starting a reaper is a whole berth process (spawn, exec, dynamic
//! linking: ~3 ms of CPU on a 2-CPU machine, beside the next command), so
//! one reaper serves a burst of removals: after reaping it stays for
//! [`IDLE`], and a removal that finds it wakes it with a datagram on its
//! socket (`reap.sock` in the runtime dir) instead of starting another.
//! The datagram also carries the removal's netfilter socket (whose last
//! close waits for the kernel to free the elements it took out) and the
//! network namespaces it unpinned (whose release waits too), so that the
//! removal exits without those waits.
//!
//! No retired veth is forgotten, whatever the timing, by two lock files:
//! * a reaper holds `reap-wait.lock` from when it starts until it exits,
//!   and `reap-run.lock` while it reaps (so two reapers never race);
//! * a removal retires its veth *first*, then looks at `reap-wait.lock`:
//!   held means a reaper will list the group after this moment, so the
//!   removal only wakes it (or, when it has a socket to hand over and the
//!   datagram cannot be sent, starts a reaper anyway); free means it
//!   starts a reaper.
//!
//! A reaper lists the group after each wake-up, so a removal whose
//! datagram arrived is seen. One deciding to leave first closes and
//! unlinks its socket (a removal's datagram now fails, and the removal
//! starts a reaper: its socket must be taken), then lets `reap-wait.lock`
//! go (a removal now starts a reaper), and lists the group one last time:
//! every removal that saw it waiting, or whose datagram it dropped
//! unread, retired its veth before that last look.

use crate::error::{Error, Result};
use crate::kernel::Netlink;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a reaper waits for another removal before it exits.
pub const IDLE: Duration = Duration::from_secs(1);

/// How long a woken reaper lets more removals come before it reaps: the
/// veths of a burst then go in one deletion, which holds the kernel's
/// RTNL lock (that every removal's retirement and every creation waits
/// for) through two expedited grace periods whatever the number of links.
pub const GATHER: Duration = Duration::from_millis(30);

/// The most sockets one wake-up datagram carries.
const MAX_FDS: usize = 8;

/// The reapers of one state root.
pub struct Reaper {
    wait: PathBuf,
    run: PathBuf,
    sock: PathBuf,
}

impl Reaper {
    /// The reapers of the state root whose runtime dir is `run_dir`.
    pub fn new(run_dir: &Path) -> Reaper {
        Reaper {
            wait: run_dir.join("reap-wait.lock"),
            run: run_dir.join("reap-run.lock"),
            sock: run_dir.join("reap.sock"),
        }
    }

    /// Whether a reaper is waiting (then one need not be started).
    pub fn one_waiting(&self) -> Result<bool> {
        let file = open(&self.wait)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_) => Ok(false),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(true),
            Err((_, e)) => Err(lock_error(&self.wait, e)),
        }
    }

    /// Called after a removal retired its veths (or took elements out):
    /// whether a waiting reaper took over — it was woken, and took the
    /// sockets `hold` when there are any. `false`: start a reaper.
    pub fn hand_over(&self, hold: &[RawFd]) -> Result<bool> {
        if !self.one_waiting()? {
            return Ok(false);
        }
        let sent = self.wake(hold);
        // Without sockets to hand over, a waiting reaper is enough: it
        // lists the group before it exits (an older berth's reaper has
        // no socket; a busy one's queue may be full).
        Ok(sent || hold.is_empty())
    }

    /// Sends the waiting reaper a wake-up datagram carrying `hold`;
    /// whether it was queued.
    fn wake(&self, hold: &[RawFd]) -> bool {
        let Ok(sock) = UnixDatagram::unbound() else {
            return false;
        };
        let Ok(addr) = UnixAddr::new(&self.sock) else {
            return false;
        };
        let rights = [ControlMessage::ScmRights(hold)];
        let cmsgs: &[ControlMessage] = match hold.is_empty() {
            true => &[],
            false => &rights,
        };
        let iov = [IoSlice::new(b"w")];
        socket::sendmsg(
            sock.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_DONTWAIT,
            Some(&addr),
        )
        .is_ok()
    }

    /// Becomes the waiting reaper and reaps with `nl` until nobody woke it
    /// for `idle` (see the module docs); how many links it deleted, or
    /// `Ok(None)` when another reaper is already waiting.
    pub fn serve(&self, nl: &mut Netlink, idle: Duration) -> Result<Option<usize>> {
        let waiting = match Flock::lock(open(&self.wait)?, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(lock_error(&self.wait, e)),
        };
        // Only the holder of the wait lock binds or unlinks the socket.
        let _ = std::fs::remove_file(&self.sock);
        let listener = UnixDatagram::bind(&self.sock).ok();
        if let Some(l) = &listener {
            let _ = l.set_nonblocking(true);
        }
        let running = Flock::lock(open(&self.run)?, FlockArg::LockExclusive)
            .map_err(|(_, e)| lock_error(&self.run, e))?;
        let mut deleted = 0;
        loop {
            // The descriptors that woke it are closed at once (their last
            // close may wait for the kernel: here, not in the removals
            // that sent them): a namespace held open keeps its veth a port
            // of its bridge, with the removed container's address and MAC.
            drop(listener.as_ref().map(drain));
            std::thread::sleep(GATHER);
            drop(listener.as_ref().map(drain));
            deleted += reap_logged(nl);
            match &listener {
                Some(l) if woken(l, idle) => continue,
                _ => break,
            }
        }
        // Leaving: unreachable first, then not waiting, then a last look.
        drop(listener);
        let _ = std::fs::remove_file(&self.sock);
        drop(waiting);
        deleted += reap_logged(nl);
        drop(running);
        Ok(Some(deleted))
    }
}

/// [`super::retire::reap`], a failure being a warning (the next reaper,
/// or `berth system reconcile`, tries again).
fn reap_logged(nl: &mut Netlink) -> usize {
    super::retire::reap(nl).unwrap_or_else(|e| {
        tracing::warn!("cannot delete the retired veths: {e}");
        0
    })
}

/// Whether a datagram arrived on `l` within `idle`.
fn woken(l: &UnixDatagram, idle: Duration) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let ms = u16::try_from(idle.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => return n > 0,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Reads every queued datagram of `l`; the sockets they carried.
fn drain(l: &UnixDatagram) -> Vec<OwnedFd> {
    let mut held = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC;
        let Ok(msg) = socket::recvmsg::<()>(l.as_raw_fd(), &mut iov, Some(&mut space), flags)
        else {
            return held;
        };
        let Ok(cmsgs) = msg.cmsgs() else { continue };
        for c in cmsgs {
            if let ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: the kernel just installed these descriptors in
                // this process for us; nothing else owns them.
                held.extend(
                    fds.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
    }
}

use crate::paths::lock_file as open;

fn lock_error(path: &Path, e: nix::errno::Errno) -> Error {
    Error::internal(format!("cannot lock {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("berth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn a_waiting_reaper_is_seen_and_none_is_started_beside_it() {
        let dir = dir("reaper");
        let r = Reaper::new(&dir);
        assert!(!r.one_waiting().expect("probe"), "nobody waits yet");
        // Probing does not keep the lock.
        assert!(!r.one_waiting().expect("probe again"));
        assert!(!r.hand_over(&[]).expect("hand over"), "start one");
        let held = Flock::lock(
            open(&dir.join("reap-wait.lock")).expect("open"),
            FlockArg::LockExclusive,
        )
        .map_err(|(_, e)| e)
        .expect("lock");
        assert!(r.one_waiting().expect("probe"), "a waiting reaper is seen");
        // One without a socket (an older berth's) takes over a removal
        // with nothing to hand over, but not a socket.
        assert!(r.hand_over(&[]).expect("hand over"));
        let (a, _b) = UnixDatagram::pair().expect("pair");
        assert!(!r.hand_over(&[a.as_raw_fd()]).expect("hand over"));
        drop(held);
        assert!(!r.one_waiting().expect("probe"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_waiting_reaper_takes_the_sockets_it_is_sent() {
        let dir = dir("reaper-sock");
        let r = Reaper::new(&dir);
        let held = Flock::lock(
            open(&dir.join("reap-wait.lock")).expect("open"),
            FlockArg::LockExclusive,
        )
        .map_err(|(_, e)| e)
        .expect("lock");
        let listener = UnixDatagram::bind(dir.join("reap.sock")).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let (a, b) = UnixDatagram::pair().expect("pair");
        assert!(r.hand_over(&[a.as_raw_fd()]).expect("hand over"));
        assert!(woken(&listener, Duration::from_millis(10)));
        let got = drain(&listener);
        assert_eq!(got.len(), 1);
        // The descriptor received is the same socket: what is sent on it
        // arrives at the other end.
        drop(a);
        let sent = nix::sys::socket::send(got[0].as_raw_fd(), b"x", MsgFlags::empty());
        assert_eq!(sent, Ok(1));
        let mut buf = [0u8; 1];
        assert_eq!(b.recv(&mut buf).expect("recv"), 1);
        assert!(!woken(&listener, Duration::from_millis(10)), "drained");
        drop(held);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
