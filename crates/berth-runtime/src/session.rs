//! Waiting for a container while attached to it: forwarding caught signals
//! to it and, with a tty, relaying bytes between the caller and the pty
//! master (caller input -> master, master -> caller output or a log file).
//!
//! One `poll` loop watches the process's pidfd, the [`SignalForwarder`]
//! pipe, the master and the input. It ends when the process has exited and
//! the master reports EOF/EIO (all slave holders are gone) — or, if
//! something outside keeps the slave open, after 100 ms without output.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::error::RuntimeError;
use crate::process::{ExitStatus, Process};
use crate::pty::copy_window_size;
use crate::signals::SignalForwarder;

/// How long to keep draining the master after the process exited.
const DRAIN_MS: i32 = 100;
/// Poll interval when the kernel has no pidfd support.
const NO_PIDFD_MS: i32 = 50;

/// The tty side of an attached session.
#[derive(Debug, Clone, Copy)]
pub struct PtyRelay<'a> {
    /// The pty master (set to non-blocking by the relay).
    pub master: BorrowedFd<'a>,
    /// Caller input copied to the master (`-i`), or `None`.
    pub input: Option<BorrowedFd<'a>>,
    /// Where the container's output goes (caller stdout or a log file).
    pub output: BorrowedFd<'a>,
    /// Terminal whose window size is copied to the master on SIGWINCH.
    pub terminal: Option<BorrowedFd<'a>>,
}

/// Waits for `process` to exit while forwarding the signals caught by
/// `signals` to it (SIGWINCH resizes the pty instead) and relaying `pty`.
/// Without a pty the container writes to the caller's streams directly.
/// With a pty and a `terminal`, the terminal's window size is copied to the
/// master at the start too.
pub fn wait_attached(
    process: &mut Process,
    pty: Option<PtyRelay<'_>>,
    signals: Option<&SignalForwarder>,
) -> Result<ExitStatus, RuntimeError> {
    if let Some(relay) = &pty {
        set_nonblocking(relay.master.as_raw_fd())?;
        if let Some(term) = relay.terminal {
            // Best effort: the terminal may have gone away.
            let _ = copy_window_size(term, relay.master);
        }
    }
    let mut session = Session {
        process,
        master_open: pty.is_some(),
        input_open: pty.is_some_and(|p| p.input.is_some()),
        pty,
        signals,
        pending: Vec::new(),
    };
    session.run()
}

/// State of one [`wait_attached`] call.
struct Session<'p, 'a> {
    process: &'p mut Process,
    pty: Option<PtyRelay<'a>>,
    signals: Option<&'a SignalForwarder>,
    master_open: bool,
    input_open: bool,
    /// Input read from the caller, not yet written to the master.
    pending: Vec<u8>,
}

/// What a pollfd slot watches.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Pidfd,
    Signals,
    Master,
    Input,
}

impl Session<'_, '_> {
    /// The poll loop.
    fn run(&mut self) -> Result<ExitStatus, RuntimeError> {
        loop {
            let status = self.process.try_wait()?;
            if let (Some(st), false) = (status, self.master_open) {
                return Ok(st);
            }
            let (slots, mut fds) = self.poll_set(status.is_some());
            let timeout = match (status, self.process.pidfd()) {
                (Some(_), _) => DRAIN_MS,
                (None, Some(_)) => -1,
                (None, None) => NO_PIDFD_MS,
            };
            // SAFETY: fds is a valid array of pollfd of the given length.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 && Errno::last() != Errno::EINTR {
                return Err(RuntimeError::sys("poll", Errno::last()));
            }
            if let (0, Some(st)) = (n, status) {
                return Ok(st);
            }
            for (slot, pfd) in slots.iter().zip(&fds) {
                if pfd.revents != 0 {
                    self.handle(*slot, pfd.revents)?;
                }
            }
        }
    }

    /// The fds to poll in this round.
    fn poll_set(&self, exited: bool) -> (Vec<Slot>, Vec<libc::pollfd>) {
        let mut slots = Vec::new();
        let mut fds = Vec::new();
        let mut add = |slot, fd: RawFd, events| {
            slots.push(slot);
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
        };
        if let (false, Some(fd)) = (exited, self.process.pidfd()) {
            add(Slot::Pidfd, fd.as_raw_fd(), libc::POLLIN);
        }
        if let Some(sig) = self.signals {
            add(Slot::Signals, sig.fd().as_raw_fd(), libc::POLLIN);
        }
        if let (true, Some(relay)) = (self.master_open, &self.pty) {
            let out = if self.pending.is_empty() {
                0
            } else {
                libc::POLLOUT
            };
            add(Slot::Master, relay.master.as_raw_fd(), libc::POLLIN | out);
            if let (true, true, Some(input)) =
                (self.input_open, self.pending.is_empty(), relay.input)
            {
                add(Slot::Input, input.as_raw_fd(), libc::POLLIN);
            }
        }
        (slots, fds)
    }

    /// Reacts to one ready fd.
    fn handle(&mut self, slot: Slot, revents: libc::c_short) -> Result<(), RuntimeError> {
        match slot {
            Slot::Pidfd => {}
            Slot::Signals => self.forward_signals(),
            Slot::Master => {
                if revents & libc::POLLOUT != 0 {
                    self.flush_input();
                }
                if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    self.copy_output()?;
                }
            }
            Slot::Input => self.read_input(),
        }
        Ok(())
    }

    /// Forwards caught signals; SIGWINCH resizes the pty instead.
    fn forward_signals(&mut self) {
        let Some(signals) = self.signals else { return };
        for sig in signals.take() {
            match (sig, &self.pty) {
                (
                    Signal::SIGWINCH,
                    Some(PtyRelay {
                        terminal: Some(term),
                        master,
                        ..
                    }),
                ) => {
                    let _ = copy_window_size(*term, *master);
                }
                (Signal::SIGWINCH, _) => {}
                // The process may have exited meanwhile; nothing to do then.
                _ => drop(self.process.signal(sig)),
            }
        }
    }

    /// Master -> output. EOF or EIO means every slave holder is gone.
    fn copy_output(&mut self) -> Result<(), RuntimeError> {
        let Some(relay) = self.pty else { return Ok(()) };
        let mut buf = [0u8; 16384];
        match read_fd(relay.master.as_raw_fd(), &mut buf) {
            Ok(0) | Err(Errno::EIO) => self.master_open = false,
            Ok(n) => write_all(relay.output.as_raw_fd(), &buf[..n])
                .map_err(|e| RuntimeError::sys("write container output", e))?,
            Err(Errno::EAGAIN) => {}
            Err(e) => return Err(RuntimeError::sys("read pty master", e)),
        }
        Ok(())
    }

    /// Input -> pending buffer. EOF or an error stops reading input.
    fn read_input(&mut self) {
        let Some(input) = self.pty.and_then(|p| p.input) else {
            return;
        };
        let mut buf = [0u8; 4096];
        match read_fd(input.as_raw_fd(), &mut buf) {
            Ok(0) => self.input_open = false,
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                self.flush_input();
            }
            Err(Errno::EAGAIN) => {}
            Err(_) => self.input_open = false,
        }
    }

    /// Pending input -> master, as far as it accepts without blocking.
    fn flush_input(&mut self) {
        let Some(relay) = self.pty else { return };
        while !self.pending.is_empty() {
            // SAFETY: pointer and length describe `pending`.
            let n = unsafe {
                libc::write(
                    relay.master.as_raw_fd(),
                    self.pending.as_ptr().cast(),
                    self.pending.len(),
                )
            };
            match n {
                n if n > 0 => drop(self.pending.drain(..n as usize)),
                _ if Errno::last() == Errno::EINTR => {}
                _ if Errno::last() == Errno::EAGAIN => return,
                _ => {
                    self.pending.clear();
                    return;
                }
            }
        }
    }
}

/// `read(2)` retrying on EINTR.
fn read_fd(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: pointer and length describe `buf`.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        if Errno::last() != Errno::EINTR {
            return Err(Errno::last());
        }
    }
}

/// Writes all of `buf`, waiting for writability if `fd` is non-blocking.
fn write_all(fd: RawFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: pointer and length describe `buf`.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        match n {
            n if n >= 0 => buf = &buf[n as usize..],
            _ if Errno::last() == Errno::EINTR => {}
            _ if Errno::last() == Errno::EAGAIN => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut pfd, 1, -1) };
            }
            _ => return Err(Errno::last()),
        }
    }
    Ok(())
}

/// Sets `O_NONBLOCK` on `fd`.
fn set_nonblocking(fd: RawFd) -> Result<(), RuntimeError> {
    // SAFETY: plain fcntl calls on an fd.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(RuntimeError::sys(
            "fcntl(O_NONBLOCK) on pty master",
            Errno::last(),
        ));
    }
    Ok(())
}
