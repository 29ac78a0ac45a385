//! Catching signals sent to the caller (the berth CLI in the foreground) so
//! they can be forwarded to the container, using the self-pipe trick: the
//! handler writes the signal number into a non-blocking pipe that a poll
//! loop ([`crate::wait_attached`]) reads. Only one [`SignalForwarder`] can
//! be installed at a time; dropping it restores the previous handlers.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::RuntimeError;

/// Write end of the installed forwarder's pipe (-1: none).
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// Whether a forwarder is installed.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Signal handler: records the signal in the pipe. Async-signal-safe.
extern "C" fn on_signal(sig: libc::c_int) {
    let saved = Errno::last_raw();
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: one byte from a local; write is async-signal-safe. A full
        // pipe drops the signal, which is acceptable for forwarding.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    Errno::set_raw(saved);
}

/// Installed handlers for a set of signals, queued for forwarding.
#[derive(Debug)]
pub struct SignalForwarder {
    read: OwnedFd,
    _write: OwnedFd,
    previous: Vec<(Signal, SigAction)>,
}

impl SignalForwarder {
    /// Signals `docker run` (with its default `--sig-proxy`) forwards to the
    /// container in the foreground (see also [`SignalForwarder::FOREGROUND_TTY`]).
    pub const FOREGROUND: [Signal; 6] = [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ];

    /// [`SignalForwarder::FOREGROUND`] plus `SIGWINCH`, for tty sessions.
    pub const FOREGROUND_TTY: [Signal; 7] = [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ];

    /// Installs handlers for `signals`. Fails with EBUSY if another
    /// forwarder is installed.
    pub fn install(signals: &[Signal]) -> Result<Self, RuntimeError> {
        if INSTALLED.swap(true, Ordering::AcqRel) {
            return Err(RuntimeError::sys("install signal forwarder", Errno::EBUSY));
        }
        let result = Self::install_inner(signals);
        if result.is_err() {
            INSTALLED.store(false, Ordering::Release);
        }
        result
    }

    /// The part of [`SignalForwarder::install`] after claiming the slot.
    fn install_inner(signals: &[Signal]) -> Result<Self, RuntimeError> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| RuntimeError::sys("pipe2 for signal forwarding", e))?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::Release);
        let mut forwarder = SignalForwarder {
            read,
            _write: write,
            previous: Vec::new(),
        };
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for &sig in signals {
            // SAFETY: on_signal is async-signal-safe.
            let old = unsafe { sigaction(sig, &action) }
                .map_err(|e| RuntimeError::sys("sigaction", e))?;
            forwarder.previous.push((sig, old));
        }
        Ok(forwarder)
    }

    /// Readable while caught signals are waiting to be taken with
    /// [`SignalForwarder::take`]; for use in a poll loop.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Returns (and forgets) the signals caught since the last call, in
    /// arrival order. Never blocks.
    pub fn take(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(n) if n > 0 => out.extend(
                    buf[..n]
                        .iter()
                        .filter_map(|&b| Signal::try_from(i32::from(b)).ok()),
                ),
                Err(Errno::EINTR) => {}
                _ => return out,
            }
        }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        for (sig, old) in self.previous.drain(..).rev() {
            // SAFETY: restoring the handler that was installed before.
            let _ = unsafe { sigaction(sig, &old) };
        }
        WRITE_FD.store(-1, Ordering::Release);
        INSTALLED.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catches_and_restores() {
        let fwd = SignalForwarder::install(&[Signal::SIGUSR2]).unwrap();
        assert!(SignalForwarder::install(&[Signal::SIGUSR2]).is_err());
        nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
        assert_eq!(fwd.take(), vec![Signal::SIGUSR2]);
        assert!(fwd.take().is_empty());
        drop(fwd);
        let again = SignalForwarder::install(&[Signal::SIGUSR2]).unwrap();
        drop(again);
    }
}
