//! A new container's process forked before its container exists
//! ([`prepare`]), for `run -d`'s supervisor: the fork and everything
//! before it overlap `run`'s network setup (issue 13, goal 7).

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::child::{self, Command};
use crate::error::RuntimeError;
use crate::fds;
use crate::launch::{finish, fork_in_thread, prepare_io, reap, tty_path, Gates, PidNs};
use crate::mounts;
use crate::plan::Plan;
use crate::process::Process;
use crate::spec::{ContainerIo, ProcessSpec};
use crate::sys;

/// A new container's process forked before its container exists
/// ([`prepare`]): it waits, before any of its setup, until
/// [`Prepared::start`]. Dropped unstarted, it is killed and reaped (and a
/// dead caller's child sees its start gate close and exits).
pub struct Prepared {
    inner: Option<PreparedChild>,
}

/// What [`Prepared`] holds until it is started.
struct PreparedChild {
    pid: i32,
    plan: Plan,
    cmd: Command,
    gates: Gates,
    /// The start gate's ends (the read end held as `gate_r` is).
    start_w: OwnedFd,
    start_r: OwnedFd,
}

/// [`crate::spawn_recorded`] in two steps, so that the fork and everything
/// before it happen while the container is still being made (issue 13,
/// goal 7): the child is forked now and waits; its setup runs at
/// [`Prepared::start`], and opens the network namespace and the etc files
/// of `spec` only then, so they need not exist yet.
pub fn prepare(spec: &ProcessSpec, io: ContainerIo) -> Result<Prepared, RuntimeError> {
    let console = match &io {
        ContainerIo::Tty(slave) => tty_path(slave.as_raw_fd()),
        ContainerIo::Streams { .. } => None,
    };
    let plan = mounts::spawn_plan(spec, console.as_deref(), true)?;
    let cmd = Command::new(&spec.argv, &spec.env)?;
    let (io_fds, child_io) = prepare_io(io)?;
    let (report_r, report_w) = fds::cloexec_pipe()?;
    let (gate_r, gate_w) = fds::cloexec_pipe()?;
    let (start_r, start_w) = fds::cloexec_pipe()?;
    let gate = child::Gate {
        read: gate_r.as_raw_fd(),
        write: gate_w.as_raw_fd(),
    };
    let start = child::Gate {
        read: start_r.as_raw_fd(),
        write: start_w.as_raw_fd(),
    };
    let pid = fork_in_thread(
        &PidNs::New,
        &plan,
        &child_io,
        &cmd,
        report_w.as_raw_fd(),
        gate,
        Some(start),
    )?;
    drop(report_w);
    drop(io_fds);
    Ok(Prepared {
        inner: Some(PreparedChild {
            pid,
            plan,
            cmd,
            gates: Gates {
                report: report_r,
                gate_w,
                gate_r,
            },
            start_w,
            start_r,
        }),
    })
}

impl Prepared {
    /// Lets the child set itself up, then as [`crate::spawn_recorded`]: calls
    /// `record(pid)` meanwhile, before the child may exec, and returns
    /// once it exec'd.
    pub fn start(
        mut self,
        record: &mut dyn FnMut(i32) -> Result<(), String>,
    ) -> Result<Process, RuntimeError> {
        let Some(c) = self.inner.take() else {
            return Err(RuntimeError::sys(
                "start a prepared process twice",
                Errno::EINVAL,
            ));
        };
        sys::write_all(c.start_w.as_raw_fd(), b"s");
        drop(c.start_w);
        drop(c.start_r);
        finish(c.pid, &c.plan, &c.cmd, c.gates, record)
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(c) = self.inner.take() {
            // SAFETY: pid is our unreaped child, waiting at its start gate.
            unsafe { libc::kill(c.pid, libc::SIGKILL) };
            reap(c.pid);
        }
    }
}
