//! Starting processes: [`spawn`] a new container, [`exec`] into a running one.
//!
//! **PID namespaces.** A process cannot move itself into another PID
//! namespace; `unshare(CLONE_NEWPID)` / `setns(CLONE_NEWPID)` only change
//! where the calling *thread*'s future children go (`pid_for_children`).
//! berth forks from a short-lived helper thread: the thread switches its own
//! `pid_for_children` (a new namespace for `spawn`, the container's for
//! `exec`), forks, and exits. The caller's threads never see a changed
//! namespace, so there is no restore step that could fail or be skipped by
//! an early return, and the caller (e.g. a supervisor) stays in the host's
//! namespaces and can go on forking normally. `clone(CLONE_NEWPID)` would
//! also work for `spawn` but not for `exec`; one mechanism serves both.
//!
//! The other namespaces (net, mount, UTS, IPC) are joined/unshared by the
//! child itself after the fork, where it is single-threaded (a requirement
//! of `setns(CLONE_NEWNS)`), see [`crate::mounts`].

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::errno::Errno;

use crate::child::{self, ChildIo, Command, STEP_EXEC, STEP_GATE, STEP_IO};
use crate::error::{io_errno, RuntimeError};
use crate::fds;
use crate::mounts;
use crate::plan::{open_ns, path_cstring, Plan};
use crate::process::Process;
use crate::spec::{ContainerIo, ExecSpec, ProcessSpec, Stdio};
use crate::sys;

/// Starts a new container: PID 1 of a new PID namespace, in new UTS, IPC
/// and mount namespaces, inside the network namespace `spec.netns`.
///
/// Returns once the command has been exec'd. A missing command gives
/// [`RuntimeError::CommandNotFound`] (exit code 127), a non-executable one
/// [`RuntimeError::NotExecutable`] (126), a failed setup step
/// [`RuntimeError::Setup`] (125).
pub fn spawn(spec: &ProcessSpec, io: ContainerIo) -> Result<Process, RuntimeError> {
    spawn_recorded(spec, io, &mut |_| Ok(()))
}

/// [`spawn`], calling `record(pid)` with the new process's host pid after
/// the fork and before it may exec the command. The child finishes its
/// setup meanwhile, then waits on a pipe: only once `record` returned Ok
/// does it exec. If `record` fails, the child is killed before running
/// anything ([`RuntimeError::NotRecorded`]); if the caller dies before
/// `record` returns (kill -9 of a supervisor), the child sees the pipe
/// close and exits (125) without running anything either. So a container
/// whose command runs always has its pid recorded.
pub fn spawn_recorded(
    spec: &ProcessSpec,
    io: ContainerIo,
    record: &mut dyn FnMut(i32) -> Result<(), String>,
) -> Result<Process, RuntimeError> {
    let console = match &io {
        ContainerIo::Tty(slave) => tty_path(slave.as_raw_fd()),
        ContainerIo::Streams { .. } => None,
    };
    let plan = mounts::spawn_plan(spec, console.as_deref(), mounts::Handover::Now)?;
    let cmd = Command::new(&spec.argv, &spec.env)?;
    launch(PidNs::New, &plan, &cmd, io, record)
}

/// Starts a process inside the running container whose PID 1 (or any
/// member) has host pid `target_pid`: it joins its PID, network, UTS, IPC
/// and mount namespaces, changes to `spec.workdir` (default `/`, the
/// container's root), and takes the container's confinement
/// (`spec.confinement`: capabilities, `no_new_privs`, seccomp) like its
/// PID 1. Same error rules as [`spawn`].
pub fn exec(target_pid: i32, spec: &ExecSpec, io: ContainerIo) -> Result<Process, RuntimeError> {
    let ns = |name: &str| PathBuf::from(format!("/proc/{target_pid}/ns/{name}"));
    let pid_ns = ns("pid");
    let pid_fd = open_ns(&pid_ns)?;
    let mut plan = Plan::default();
    plan.join_ns(&ns("ipc"), libc::CLONE_NEWIPC, "IPC")?;
    plan.join_ns(&ns("uts"), libc::CLONE_NEWUTS, "UTS")?;
    plan.join_ns(&ns("net"), libc::CLONE_NEWNET, "network")?;
    plan.join_ns(&ns("mnt"), libc::CLONE_NEWNS, "mount")?;
    let workdir = spec.workdir.clone().unwrap_or_else(|| PathBuf::from("/"));
    plan.push(crate::plan::Op::Chdir(path_cstring(&workdir)?));
    crate::confine::push(&mut plan, &spec.confinement)?;
    let cmd = Command::new(&spec.argv, &spec.env)?;
    let pidns = PidNs::Join {
        fd: pid_fd,
        path: pid_ns,
    };
    launch(pidns, &plan, &cmd, io, &mut |_| Ok(()))
}

/// Which PID namespace the child is forked into.
pub(crate) enum PidNs {
    /// A new one (the child is its PID 1).
    New,
    /// An existing one, given as an open namespace file.
    Join { fd: OwnedFd, path: PathBuf },
}

/// Host path of a pty slave (`/dev/pts/N`), for `/dev/console` in a rootfs.
pub(crate) fn tty_path(fd: RawFd) -> Option<PathBuf> {
    let path = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    path.starts_with("/dev/pts/").then_some(path)
}

/// Forks the child, lets `record` see its pid, opens its gate, waits for
/// its exec-or-failure report, and returns it.
fn launch(
    pidns: PidNs,
    plan: &Plan,
    cmd: &Command,
    io: ContainerIo,
    record: &mut dyn FnMut(i32) -> Result<(), String>,
) -> Result<Process, RuntimeError> {
    let (io_fds, child_io) = prepare_io(io)?;
    let (report_r, report_w) = fds::cloexec_pipe()?;
    let (gate_r, gate_w) = fds::cloexec_pipe()?;
    let gate = child::Gate {
        read: gate_r.as_raw_fd(),
        write: gate_w.as_raw_fd(),
    };
    let pid = fork_in_thread(
        &pidns,
        plan,
        &child_io,
        cmd,
        report_w.as_raw_fd(),
        gate,
        None,
    )?;
    drop(report_w);
    drop(io_fds);
    let gates = Gates {
        report: report_r,
        gate_w,
        gate_r,
    };
    finish(pid, plan, cmd, gates, record)
}

/// The parent's ends of a forked child's pipes.
pub(crate) struct Gates {
    /// Where the child reports a failure (end of file: it exec'd).
    pub(crate) report: OwnedFd,
    /// The exec gate's write end (one byte: the pid is recorded).
    pub(crate) gate_w: OwnedFd,
    /// Its read end, held until the byte is written (no SIGPIPE).
    pub(crate) gate_r: OwnedFd,
}

/// Lets `record` see the forked child's pid, opens its gate, waits for its
/// exec-or-failure report, and returns it.
pub(crate) fn finish(
    pid: i32,
    plan: &Plan,
    cmd: &Command,
    gates: Gates,
    record: &mut dyn FnMut(i32) -> Result<(), String>,
) -> Result<Process, RuntimeError> {
    let Gates {
        report: report_r,
        gate_w,
        gate_r,
    } = gates;
    if let Err(why) = record(pid) {
        // SAFETY: pid is our unreaped child, still waiting at its gate.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        reap(pid);
        return Err(RuntimeError::NotRecorded(why));
    }
    // The child may have failed its setup already: then it reads nothing
    // and its report says why. Holding the read end until the byte is
    // written means the write never meets a reader-less pipe (SIGPIPE).
    sys::write_all(gate_w.as_raw_fd(), b"g");
    drop(gate_w);
    drop(gate_r);
    let report = read_report(&report_r);
    match report {
        Ok(None) => Ok(Process::new(pid)),
        Ok(Some((index, errno))) => {
            reap(pid);
            Err(match index {
                STEP_EXEC => cmd.exec_error(errno),
                STEP_IO => setup_error("set up stdio and controlling terminal".into(), errno),
                STEP_GATE => setup_error("wait for the caller to record the process".into(), errno),
                _ => setup_error(plan.describe(index), errno),
            })
        }
        Err(e) => {
            // Unknown state: do not leave a half-set-up child behind.
            // SAFETY: pid is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid);
            Err(e)
        }
    }
}

/// A [`RuntimeError::Setup`].
fn setup_error(step: String, errno: Errno) -> RuntimeError {
    RuntimeError::Setup { step, errno }
}

/// Converts the caller's stdio choice into fds (kept open until after the
/// fork) and the raw numbers the child dup2s.
pub(crate) fn prepare_io(io: ContainerIo) -> Result<(Vec<OwnedFd>, ChildIo), RuntimeError> {
    let mut owned = Vec::new();
    let mut child = ChildIo::default();
    match io {
        ContainerIo::Tty(slave) => {
            let slave = fds::above_stdio(slave)?;
            child.tty = Some(slave.as_raw_fd());
            owned.push(slave);
        }
        ContainerIo::Streams {
            stdin,
            stdout,
            stderr,
        } => {
            child.stdin = stream_fd(stdin, &mut owned)?;
            child.stdout = stream_fd(stdout, &mut owned)?;
            child.stderr = stream_fd(stderr, &mut owned)?;
        }
    }
    Ok((owned, child))
}

/// The fd for one stream (`None`: inherit), keeping it alive in `owned`.
fn stream_fd(stdio: Stdio, owned: &mut Vec<OwnedFd>) -> Result<Option<RawFd>, RuntimeError> {
    let fd = match stdio {
        Stdio::Inherit => return Ok(None),
        Stdio::Null => fds::dev_null()?,
        Stdio::Fd(fd) => fds::above_stdio(fd)?,
    };
    let raw = fd.as_raw_fd();
    owned.push(fd);
    Ok(Some(raw))
}

/// Forks from a scoped helper thread whose `pid_for_children` is switched
/// first (see the module doc). Returns the child's host pid.
pub(crate) fn fork_in_thread(
    pidns: &PidNs,
    plan: &Plan,
    io: &ChildIo,
    cmd: &Command,
    report: RawFd,
    gate: child::Gate,
    start: Option<child::Gate>,
) -> Result<i32, RuntimeError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("berth-fork".into())
            .spawn_scoped(scope, || {
                fork_here(pidns, plan, io, cmd, report, gate, start)
            })
            .map_err(|e| RuntimeError::sys("spawn fork helper thread", io_errno(&e)))?;
        handle
            .join()
            .map_err(|_| RuntimeError::sys("fork helper thread panicked", Errno::EIO))?
    })
}

/// Body of the helper thread: switch `pid_for_children`, then fork.
fn fork_here(
    pidns: &PidNs,
    plan: &Plan,
    io: &ChildIo,
    cmd: &Command,
    report: RawFd,
    gate: child::Gate,
    start: Option<child::Gate>,
) -> Result<i32, RuntimeError> {
    match pidns {
        PidNs::New => sys::unshare(libc::CLONE_NEWPID)
            .map_err(|e| RuntimeError::sys("unshare(CLONE_NEWPID)", e))?,
        PidNs::Join { fd, path } => sys::setns(fd.as_raw_fd(), libc::CLONE_NEWPID)
            .map_err(|e| RuntimeError::path("join pid namespace", path, e))?,
    }
    let (argv, envp) = cmd.pointers();
    // SAFETY: the child runs only async-signal-safe code (child::run uses
    // pre-built data and raw system calls) and never returns.
    match unsafe { libc::fork() } {
        -1 => {
            let errno = Errno::last();
            Err(match pidns {
                PidNs::New => RuntimeError::sys("fork into new pid namespace", errno),
                PidNs::Join { path, .. } => {
                    RuntimeError::path("fork into pid namespace", path, errno)
                }
            })
        }
        0 => child::run(plan, io, cmd, &argv, &envp, report, gate, start),
        pid => Ok(pid),
    }
}

/// Reads the child's report: `None` when it exec'd (EOF on the pipe).
fn read_report(fd: &OwnedFd) -> Result<Option<(u32, Errno)>, RuntimeError> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: pointer and length describe the unfilled part of `buf`.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n as usize,
            _ if Errno::last() == Errno::EINTR => {}
            _ => return Err(RuntimeError::sys("read exec status pipe", Errno::last())),
        }
    }
    match got {
        0 => Ok(None),
        8 => Ok(Some(child::decode(buf))),
        _ => Err(RuntimeError::sys(
            "short read from exec status pipe",
            Errno::EIO,
        )),
    }
}

/// Reaps a child that failed to start (its status carries no information).
pub(crate) fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 && Errno::last() == Errno::EINTR {}
}
