//! Waiting for a container while attached to it: forwarding caught signals
//! to it and, with a tty, relaying bytes between the caller and the pty
//! master (caller input -> master, master -> caller output or a log file).
//!
//! One `poll` loop watches the process's pidfd, the [`SignalForwarder`]
//! pipe, the master and the input. It ends when the process has exited and
//! the master reports EOF/EIO (all slave holders are gone) — or, if
//! something outside keeps the slave open, after 100 ms without output.
//!
//! [`wait_logged`] is the same loop for a detached container's supervisor:
//! the container's output (its pty master, or the pipe holding its stdout
//! and stderr) goes to a sink — the log — from this loop itself, so the
//! supervisor needs no thread of its own (a container costs two tasks: the
//! supervisor and its process; issue 13, goal 3).

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::error::RuntimeError;
use crate::process::{ExitStatus, Process};
use crate::pty::copy_window_size;
use crate::signals::SignalForwarder;

/// How long to keep draining the master after the process exited.
const DRAIN_MS: i32 = 100;
/// How long an output pipe may stay open after the process exited (a
/// straggler holding its write end).
const PIPE_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);
/// Size of the buffer a pipe is read with: a pipe's default capacity.
const PIPE_BUF: usize = 64 << 10;
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
        sink: None,
        pipe: None,
        buf: Vec::new(),
    };
    session.run()
}

/// What [`wait_logged`] gives the output to.
type Sink<'a> = dyn FnMut(&[u8]) + 'a;

/// Where a detached container's output comes from ([`wait_logged`]).
#[derive(Debug, Clone, Copy)]
pub enum LogSource<'a> {
    /// The pty master of a container with a tty.
    Pty(BorrowedFd<'a>),
    /// The read end of the pipe holding its stdout and stderr; every other
    /// holder of the write end but the container must have closed it.
    Pipe(BorrowedFd<'a>),
}

/// Waits for `process` to exit while giving everything it writes to
/// `source` to `sink`, in this thread. Returns once the process exited and
/// its output ended: the master's EOF/EIO (or 100 ms without output), the
/// pipe's EOF (or 2 s after the exit, for a straggler holding it).
pub fn wait_logged(
    process: &mut Process,
    source: LogSource<'_>,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<ExitStatus, RuntimeError> {
    let (pty, pipe) = match source {
        LogSource::Pty(master) => {
            set_nonblocking(master.as_raw_fd())?;
            let relay = PtyRelay {
                master,
                input: None,
                output: master, // unused: the output goes to the sink
                terminal: None,
            };
            (Some(relay), None)
        }
        LogSource::Pipe(fd) => {
            set_nonblocking(fd.as_raw_fd())?;
            (None, Some(fd))
        }
    };
    let mut session = Session {
        process,
        master_open: pty.is_some(),
        input_open: false,
        pty,
        signals: None,
        pending: Vec::new(),
        sink: Some(sink),
        pipe,
        buf: if pipe.is_some() {
            vec![0; PIPE_BUF]
        } else {
            Vec::new()
        },
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
    /// Receives the output instead of the relay's `output` ([`wait_logged`]).
    sink: Option<&'a mut Sink<'a>>,
    /// An output pipe copied to the sink, until its EOF.
    pipe: Option<BorrowedFd<'a>>,
    /// The buffer the pipe is read with.
    buf: Vec<u8>,
}

/// What a pollfd slot watches.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Pidfd,
    Signals,
    Master,
    Input,
    Pipe,
}

impl Session<'_, '_> {
    /// The poll loop.
    fn run(&mut self) -> Result<ExitStatus, RuntimeError> {
        let mut exited_at = None;
        loop {
            let status = self.process.try_wait()?;
            if let (Some(st), false, None) = (status, self.master_open, self.pipe) {
                return Ok(st);
            }
            if let Some(st) = status {
                let at = *exited_at.get_or_insert_with(std::time::Instant::now);
                if self.pipe.is_some() && at.elapsed() >= PIPE_DRAIN {
                    return Ok(st); // a straggler keeps writing: stop here
                }
            }
            let (slots, mut fds) = self.poll_set(status.is_some());
            let timeout = match (status, self.process.pidfd(), exited_at, self.pipe) {
                (Some(_), _, Some(at), Some(_)) => {
                    let left = PIPE_DRAIN.saturating_sub(at.elapsed());
                    i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
                }
                (Some(_), ..) => DRAIN_MS,
                (None, Some(_), ..) => -1,
                (None, None, ..) => NO_PIDFD_MS,
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
        if let Some(pipe) = self.pipe {
            add(Slot::Pipe, pipe.as_raw_fd(), libc::POLLIN);
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
            Slot::Pipe => self.copy_pipe(),
        }
        Ok(())
    }

    /// Pipe -> sink. EOF or an error ends the pipe.
    fn copy_pipe(&mut self) {
        let Some(pipe) = self.pipe else { return };
        match read_fd(pipe.as_raw_fd(), &mut self.buf) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                if let Some(sink) = self.sink.as_mut() {
                    sink(&self.buf[..n]);
                }
            }
            Err(Errno::EAGAIN) => {}
            Err(_) => self.pipe = None,
        }
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
            Ok(n) => match self.sink.as_mut() {
                Some(sink) => sink(&buf[..n]),
                None => write_all(relay.output.as_raw_fd(), &buf[..n])
                    .map_err(|e| RuntimeError::sys("write container output", e))?,
            },
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
