//! Starting a container's supervisor (`berth __supervise`, see [`super::run`]).
//!
//! `run -d` picks the container's id, starts the supervisor for it before
//! it sets the container's network up, and says "go" through a pipe once
//! the container exists: the supervisor's own start (exec, the dynamic
//! loader, berth's start-up, ~1.5 ms) then overlaps the network's setup
//! instead of following it (issue 13, goal 7); so does the fork of the
//! container's process, at "recorded" (see [`supervise`]). A `run` that fails (or
//! dies) before that closes the pipe, and the supervisor exits at once,
//! having done nothing (before "recorded") or killed the process it forked. It is spawned with `posix_spawn` in a session of
//! its own (`POSIX_SPAWN_SETSID`): no copy of this process is made, which
//! a `fork` for `setsid` in `pre_exec` did. Written on nix's wrapper
//! because the standard library's `Command` cannot ask for `setsid`
//! without falling back to `fork`.

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::stat::Mode;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A supervisor started and waiting for its container to exist.
pub struct Launch {
    /// Where "go" goes; dropped unused, the supervisor exits.
    go: std::fs::File,
    /// Where the supervisor reports whether the container started.
    ready: std::fs::File,
}

impl Launch {
    /// Starts `berth __supervise ID --go-fd N --ready-fd M` in a session
    /// of its own, with no stdio, in `/`.
    pub fn spawn(root: Option<&Path>, id: &str) -> Result<Launch> {
        let (go_r, go_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        // The child's copies, above both ends so neither dup2 overwrites
        // the other's source; dup2 clears close-on-exec on the copy.
        let go_fd = go_r.as_raw_fd().max(ready_w.as_raw_fd()) + 1;
        let ready_fd = go_fd + 1;
        // The running binary itself, even if its file was replaced meanwhile
        // (an upgrade, a rebuild): then its path no longer exists.
        let mut args = vec![c"/proc/self/exe".to_owned()];
        if let Some(r) = root {
            args.push(c"--root".to_owned());
            args.push(CString::new(r.as_os_str().as_bytes()).context("--root")?);
        }
        for a in ["__supervise", id, "--go-fd", &go_fd.to_string()]
            .into_iter()
            .chain(["--ready-fd", &ready_fd.to_string()])
        {
            args.push(CString::new(a)?);
        }
        let env: Vec<CString> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let mut actions = PosixSpawnFileActions::init()?;
        actions.add_dup2(go_r.as_raw_fd(), go_fd)?;
        actions.add_dup2(ready_w.as_raw_fd(), ready_fd)?;
        actions.add_open(0, "/dev/null", OFlag::O_RDONLY, Mode::empty())?;
        actions.add_open(1, "/dev/null", OFlag::O_WRONLY, Mode::empty())?;
        actions.add_open(2, "/dev/null", OFlag::O_WRONLY, Mode::empty())?;
        // As the standard library's spawn does: SIGPIPE back to its
        // default (this process ignores it) and no signal blocked.
        let mut attr = PosixSpawnAttr::init()?;
        let mut sigpipe = SigSet::empty();
        sigpipe.add(Signal::SIGPIPE);
        attr.set_sigdefault(&sigpipe)?;
        attr.set_sigmask(&SigSet::empty())?;
        attr.set_flags(
            PosixSpawnFlags::from_bits_retain(libc::POSIX_SPAWN_SETSID as libc::c_int)
                | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF
                | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK,
        )?;
        nix::spawn::posix_spawn(c"/proc/self/exe", &actions, &attr, &args, &env)
            .context("cannot start the container's supervisor")?;
        Ok(Launch {
            go: go_w.into(),
            ready: ready_r.into(),
        })
    }

    /// What `run` calls once the container's record is in the store (and
    /// before its network is made): the supervisor then prepares the
    /// container's process, in parallel with the rest of `run`'s work.
    pub fn recorded(&self) -> Result<Box<dyn FnOnce()>> {
        let mut go = self.go.try_clone().context("dup")?;
        Ok(Box::new(move || drop(go.write_all(RECORDED))))
    }

    /// Tells the supervisor its container exists and waits for it to say
    /// whether the container's process started. Returns 0 or Docker's
    /// exit code.
    pub fn start(self) -> Result<i32> {
        let Launch { mut go, mut ready } = self;
        // A supervisor already gone shows as a write error or as an empty
        // report below: both mean it did not start the container.
        let _ = go.write_all(GO);
        drop(go);
        let mut msg = String::new();
        ready.read_to_string(&mut msg)?;
        Ok(report(&msg))
    }
}

/// What `run` writes once the container exists.
const GO: &[u8] = b"g";
/// What `run` may write before, once the container's record is stored.
const RECORDED: &[u8] = b"r";

/// The exit code for what the supervisor reported (0 for `ok`), after
/// printing its error.
fn report(msg: &str) -> i32 {
    match msg.split_once(' ') {
        _ if msg.starts_with("ok") => 0,
        Some(("err", rest)) => {
            let (code, text) = rest.split_once(' ').unwrap_or(("125", rest));
            eprintln!("berth: {}", text.trim());
            code.parse().unwrap_or(125)
        }
        _ => {
            eprintln!("berth: the container's supervisor exited before starting it");
            125
        }
    }
}

/// `berth __supervise ID`: opens the store (only the store: no recovery,
/// nothing of the host), then, with `go_fd`, waits for `run` to say the
/// container exists (exits 0 at once if it gave up instead). Opening
/// before waiting takes SQLite's schema parsing off the path `run` waits
/// on. When `run` says "recorded" first (the container's record is
/// stored, its network not yet made), the record is read and the
/// container's process forked then, to wait for "go" before any of its
/// setup ([`super::stage::stage`]); a `run` that gives up instead closes
/// the pipe, and that process is killed. No read transaction stays open
/// across a wait (each statement is its own), so what `run` committed
/// meanwhile is seen.
pub fn supervise(
    root: Option<&Path>,
    id: &str,
    go_fd: Option<i32>,
    ready_fd: Option<i32>,
) -> Result<i32> {
    if go_fd.is_some() {
        // What the fork-based spawn did: no directory of the caller's
        // stays busy for the container's lifetime.
        std::env::set_current_dir("/").context("cannot change to /")?;
    }
    let config = crate::config::engine(root)?;
    let mut engine = berth_core::engine::Engine::open_store_only(&config)?;
    let mut staged = None;
    if let Some(fd) = go_fd {
        // SAFETY: the fd was handed to us open by our parent (Launch).
        let mut from = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let mut said = next_word(&mut from)?;
        if said == RECORDED {
            // Best effort: what fails here is done again after "go",
            // where a failure is reported to `run`.
            staged = super::stage::stage(&mut engine, id, true).ok();
            said = next_word(&mut from)?;
        }
        if said != GO {
            return Ok(0); // `run` gave up: a prepared process is killed
        }
    }
    super::run::supervise(config, engine, id, ready_fd, staged)
}

/// The next one-byte word from `run` (empty at end of file).
fn next_word(from: &mut std::fs::File) -> Result<Vec<u8>> {
    let mut said = Vec::new();
    from.take(1).read_to_end(&mut said)?;
    Ok(said)
}
