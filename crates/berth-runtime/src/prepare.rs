//! A new container's process forked before its container exists
//! ([`prepare`]), for `run -d`'s supervisor: the fork, everything before
//! it, and the child's mount setup overlap `run`'s network setup (issue
//! 13, goal 7).

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::child::{self, Command};
use crate::error::RuntimeError;
use crate::fds;
use crate::handover::{self, Sources};
use crate::launch::{finish, fork_in_thread, prepare_io, reap, tty_path, Gates, PidNs};
use crate::mounts::{self, Handover};
use crate::plan::Plan;
use crate::process::Process;
use crate::spec::{ContainerIo, ProcessSpec};

/// A new container's process forked before its container exists
/// ([`prepare`]): it builds its file system view, then waits until
/// [`Prepared::start`] sends its network namespace and etc files. Dropped
/// unstarted, it is killed and reaped (and a dead caller's child sees its
/// socket close and exits).
pub struct Prepared {
    inner: Option<PreparedChild>,
}

/// What [`Prepared`] holds until it is started.
struct PreparedChild {
    pid: i32,
    plan: Plan,
    cmd: Command,
    gates: Gates,
    /// The parent's end of the start socket.
    start: OwnedFd,
    /// What is opened and sent at the start.
    sources: Sources,
}

/// [`crate::spawn_recorded`] in two steps, so that the fork and the
/// child's mount setup happen while the container is still being made
/// (issue 13, goal 7): the child is forked now, sets up everything that
/// needs neither its network namespace nor its etc files (which need not
/// exist yet), and waits; [`Prepared::start`] sends them and lets it
/// finish.
pub fn prepare(spec: &ProcessSpec, io: ContainerIo) -> Result<Prepared, RuntimeError> {
    let console = match &io {
        ContainerIo::Tty(slave) => tty_path(slave.as_raw_fd()),
        ContainerIo::Streams { .. } => None,
    };
    let (start, start_child) = handover::pair()?;
    let handover = Handover::Later(start_child.as_raw_fd());
    let plan = mounts::spawn_plan(spec, console.as_deref(), handover)?;
    let cmd = Command::new(&spec.argv, &spec.env)?;
    let (io_fds, child_io) = prepare_io(io)?;
    let (report_r, report_w) = fds::cloexec_pipe()?;
    let (gate_r, gate_w) = fds::cloexec_pipe()?;
    let gate = child::Gate {
        read: gate_r.as_raw_fd(),
        write: gate_w.as_raw_fd(),
    };
    let start_gate = child::Gate {
        read: start_child.as_raw_fd(),
        write: start.as_raw_fd(),
    };
    let pid = fork_in_thread(
        &PidNs::New,
        &plan,
        &child_io,
        &cmd,
        report_w.as_raw_fd(),
        gate,
        Some(start_gate),
    )?;
    drop(report_w);
    drop(io_fds);
    drop(start_child);
    let etc = [&spec.etc.hosts, &spec.etc.hostname, &spec.etc.resolv_conf];
    let sources = Sources {
        netns: spec.netns.clone(),
        etc: etc.into_iter().cloned().collect(),
    };
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
            start,
            sources,
        }),
    })
}

impl Prepared {
    /// Sends the child its network namespace and etc files (which must
    /// exist now), then as [`crate::spawn_recorded`]: calls `record(pid)`
    /// meanwhile, before the child may exec, and returns once it exec'd.
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
        if let Err(e) = c.sources.send(&c.start) {
            kill(c.pid);
            return Err(e);
        }
        drop(c.start);
        finish(c.pid, &c.plan, &c.cmd, c.gates, record)
    }
}

/// Kills and reaps our unreaped child `pid`, which has not exec'd.
fn kill(pid: i32) {
    // SAFETY: pid is our unreaped child, waiting before its exec.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(c) = self.inner.take() {
            kill(c.pid);
        }
    }
}
