//! A started container process (or exec'd process) seen from its parent:
//! waiting for it, signalling it, stopping it, and its exit status mapped to
//! Docker's exit codes.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::RuntimeError;
use crate::sys;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `exit` with this status.
    Exited(i32),
    /// It was killed by this signal number.
    Signaled(i32),
}

impl ExitStatus {
    /// The exit code `docker run` reports: the status itself, or 128+N when
    /// killed by signal N.
    pub fn code(&self) -> i32 {
        match *self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with status {code}"),
            ExitStatus::Signaled(sig) => write!(f, "killed by signal {sig}"),
        }
    }
}

/// A child process started by [`crate::spawn`] or [`crate::exec`].
///
/// The caller is its parent and must reap it with one of the wait methods
/// (`SIGCHLD` must not be ignored). Dropping a `Process` neither kills nor
/// reaps it.
#[derive(Debug)]
pub struct Process {
    pid: i32,
    pidfd: Option<OwnedFd>,
    status: Option<ExitStatus>,
}

impl Process {
    /// Wraps a freshly forked child (not yet reaped, so its pid is stable).
    pub(crate) fn new(pid: i32) -> Self {
        Process {
            pid,
            pidfd: sys::pidfd_open(pid).ok(),
            status: None,
        }
    }

    /// The host pid of the process.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A pidfd for the process (readable once it has exited), if the kernel
    /// supports `pidfd_open`.
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|fd| fd.as_fd())
    }

    /// The exit status if the process has already been reaped.
    pub fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Reaps the process if it has exited, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, RuntimeError> {
        self.wait_flags(Some(WaitPidFlag::WNOHANG))
    }

    /// Blocks until the process exits and returns its status.
    pub fn wait(&mut self) -> Result<ExitStatus, RuntimeError> {
        loop {
            if let Some(status) = self.wait_flags(None)? {
                return Ok(status);
            }
        }
    }

    /// Waits at most `timeout` for the process to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, RuntimeError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match &self.pidfd {
                Some(fd) => {
                    let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
                    sys::poll_readable(fd.as_raw_fd(), ms)
                        .map_err(|e| self.err("poll pidfd", e))?;
                }
                None => std::thread::sleep(left.min(Duration::from_millis(20))),
            }
        }
    }

    /// Sends `sig` to the process (through its pidfd when available, so a
    /// reused pid can never be hit). Fails with ESRCH once it was reaped.
    ///
    /// Note: a container's PID 1 only receives signals it has a handler for
    /// (plus SIGKILL/SIGSTOP) — the kernel's rule for namespace init
    /// processes, which Docker shares.
    pub fn signal(&self, sig: Signal) -> Result<(), RuntimeError> {
        if self.status.is_some() {
            return Err(self.err("signal", Errno::ESRCH));
        }
        let res = match &self.pidfd {
            Some(fd) => sys::pidfd_send_signal(fd.as_raw_fd(), sig as i32),
            None => nix::sys::signal::kill(Pid::from_raw(self.pid), sig),
        };
        res.map_err(|e| self.err("signal", e))
    }

    /// `docker stop`: SIGTERM, wait up to `timeout`, then SIGKILL and wait.
    pub fn stop(&mut self, timeout: Duration) -> Result<ExitStatus, RuntimeError> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        self.signal_ignoring_exit(Signal::SIGTERM)?;
        if let Some(status) = self.wait_timeout(timeout)? {
            return Ok(status);
        }
        self.signal_ignoring_exit(Signal::SIGKILL)?;
        self.wait()
    }

    /// Like [`Process::signal`] but a process that already exited is fine.
    fn signal_ignoring_exit(&self, sig: Signal) -> Result<(), RuntimeError> {
        match self.signal(sig) {
            Err(RuntimeError::Process {
                errno: Errno::ESRCH,
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// `waitpid` with `flags`, caching the result.
    fn wait_flags(
        &mut self,
        flags: Option<WaitPidFlag>,
    ) -> Result<Option<ExitStatus>, RuntimeError> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let status = match waitpid(Pid::from_raw(self.pid), flags) {
            Ok(WaitStatus::Exited(_, code)) => ExitStatus::Exited(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => ExitStatus::Signaled(sig as i32),
            Ok(_) | Err(Errno::EINTR) => return Ok(None),
            Err(e) => return Err(self.err("waitpid", e)),
        };
        self.status = Some(status);
        self.pidfd = None;
        Ok(Some(status))
    }

    /// A [`RuntimeError::Process`] about this process.
    fn err(&self, op: &'static str, errno: Errno) -> RuntimeError {
        RuntimeError::Process {
            op,
            pid: self.pid,
            errno,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_codes() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        assert_eq!(ExitStatus::Signaled(15).to_string(), "killed by signal 15");
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped through `Process`
    fn wait_and_stop_plain_children() {
        let child = std::process::Command::new("/bin/busybox")
            .args(["sh", "-c", "exit 4"])
            .spawn()
            .unwrap();
        let mut p = Process::new(child.id() as i32);
        assert_eq!(p.wait().unwrap(), ExitStatus::Exited(4));
        assert_eq!(p.try_wait().unwrap(), Some(ExitStatus::Exited(4)));
        assert!(p.signal(Signal::SIGTERM).is_err());

        let child = std::process::Command::new("/bin/busybox")
            .args(["sleep", "30"])
            .spawn()
            .unwrap();
        let mut p = Process::new(child.id() as i32);
        assert_eq!(p.wait_timeout(Duration::from_millis(20)).unwrap(), None);
        let st = p.stop(Duration::from_secs(5)).unwrap();
        assert_eq!(st, ExitStatus::Signaled(15));
    }
}
