//! What `__supervise` makes of its container before starting it
//! ([`stage`]): at "recorded", before `run` makes the network, so that
//! reading the record and forking the process overlap it (issue 13,
//! goal 7); at "go" when `run` did not say "recorded".

use anyhow::Result;
use berth_core::engine::{Engine, StartSpec, UserlandForward};
use berth_core::model::Container;
use berth_runtime::pty::Pty;
use berth_runtime::{ContainerIo, Stdio};
use std::os::fd::OwnedFd;

/// What the supervisor makes of its container before starting it: its
/// record, the pipes or pty of its output, and, when [`stage`]d before
/// "go", its process forked and waiting ([`berth_runtime::prepare`]).
pub struct Staged {
    pub c: Container,
    pub spec: StartSpec,
    pub master: Option<OwnedFd>,
    pub log_r: OwnedFd,
    pub log_fd: OwnedFd,
    /// `-i` without a terminal: a pipe kept open so stdin never sees EOF.
    pub stdin_keep: Option<OwnedFd>,
    /// The process: prepared, or what to spawn it with.
    pub process: Result<berth_runtime::Prepared, ContainerIo>,
    /// The ports to forward in userland (read with the record: its
    /// addresses are stored with it), or why they could not be read.
    pub forwards: Result<Vec<UserlandForward>>,
}

/// Reads container `id` and makes its output's pipes or pty; with
/// `prepare`, forks its process too, to wait until [`super::run::supervise`] starts it
/// (`run` says "recorded" before it makes the network, so this overlaps
/// it: issue 13, goal 7).
pub fn stage(engine: &mut Engine, id: &str, prepare: bool) -> Result<Staged> {
    let c = engine.container(id)?;
    let spec = engine.start_spec(&c)?;
    let forwards = engine.userland_forwards(&c).map_err(anyhow::Error::from);
    let (log_r, log_fd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let mut stdin_keep = None;
    let (master, io) = if c.config.tty {
        let p = Pty::open()?;
        (Some(p.master), ContainerIo::Tty(p.slave))
    } else {
        let stdin = if c.config.interactive {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
            stdin_keep = Some(w);
            Stdio::Fd(r)
        } else {
            Stdio::Null
        };
        (
            None,
            ContainerIo::Streams {
                stdin,
                stdout: Stdio::Fd(log_fd.try_clone()?),
                stderr: Stdio::Fd(log_fd.try_clone()?),
            },
        )
    };
    let process = match prepare {
        true => Ok(berth_runtime::prepare(
            &super::run::process_spec(&spec),
            io,
        )?),
        false => Err(io),
    };
    Ok(Staged {
        c,
        spec,
        master,
        log_r,
        log_fd,
        stdin_keep,
        process,
        forwards,
    })
}
