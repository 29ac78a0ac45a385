//! The code run by the forked child between `fork` and `execve`.
//!
//! Everything here is async-signal-safe: it only reads data prepared by the
//! parent ([`Command`], [`ChildIo`], [`Plan`]) and makes raw system calls —
//! no allocation, no locks. A failure is written as 8 bytes (step index,
//! errno) to a close-on-exec pipe; a successful `execve` closes the pipe, so
//! the parent reads EOF. The parent turns the report into a
//! [`RuntimeError`] before `spawn`/`exec` returns.

use std::ffi::CString;
use std::os::fd::RawFd;

use libc::c_char;
use nix::errno::Errno;

use crate::error::RuntimeError;
use crate::plan::{cstring, Plan};
use crate::sys;

/// Report index: setting up stdio or the controlling terminal failed.
pub(crate) const STEP_IO: u32 = u32::MAX - 1;
/// Report index: the parent died (or gave up) before opening the gate.
pub(crate) const STEP_GATE: u32 = u32::MAX - 2;
/// Report index: `execve` failed.
pub(crate) const STEP_EXEC: u32 = u32::MAX;
/// `PATH` used when the environment has none (Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The program to execute, with every string pre-built.
#[derive(Debug)]
pub(crate) struct Command {
    /// `argv[0]` as given (for error messages).
    pub(crate) name: String,
    /// Paths to try with `execve`, in order (the `PATH` search of `execvp`).
    pub(crate) candidates: Vec<CString>,
    /// argv strings.
    pub(crate) argv: Vec<CString>,
    /// `KEY=VALUE` environment strings.
    pub(crate) envp: Vec<CString>,
}

impl Command {
    /// Validates and converts argv and env; computes the `PATH` candidates.
    pub(crate) fn new(argv: &[String], env: &[(String, String)]) -> Result<Self, RuntimeError> {
        let name = match argv.first() {
            Some(a) if !a.is_empty() => a.clone(),
            _ => return Err(RuntimeError::InvalidSpec("empty command".into())),
        };
        let mut envp = Vec::with_capacity(env.len());
        for (k, v) in env {
            if k.is_empty() || k.contains('=') {
                let msg = format!("invalid environment variable name {k:?}");
                return Err(RuntimeError::InvalidSpec(msg));
            }
            envp.push(cstring(&format!("{k}={v}"))?);
        }
        let path = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map_or(DEFAULT_PATH, |(_, v)| v.as_str());
        let candidates = search_candidates(&name, path)
            .iter()
            .map(|c| cstring(c))
            .collect::<Result<_, _>>()?;
        let argv = argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
        Ok(Command {
            name,
            candidates,
            argv,
            envp,
        })
    }

    /// NULL-terminated pointer arrays for argv and envp (built before fork;
    /// they borrow `self`).
    pub(crate) fn pointers(&self) -> (Vec<*const c_char>, Vec<*const c_char>) {
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        (ptrs(&self.argv), ptrs(&self.envp))
    }

    /// The error for an `execve` failure with `errno` (127 vs 126).
    pub(crate) fn exec_error(&self, errno: Errno) -> RuntimeError {
        let cmd = self.name.clone();
        match errno {
            Errno::ENOENT | Errno::ENOTDIR => RuntimeError::CommandNotFound { cmd, errno },
            _ => RuntimeError::NotExecutable { cmd, errno },
        }
    }
}

/// The paths `execvp` would try for `name` with this `PATH`.
fn search_candidates(name: &str, path: &str) -> Vec<String> {
    if name.contains('/') {
        return vec![name.to_string()];
    }
    path.split(':')
        .map(|dir| if dir.is_empty() { "." } else { dir })
        .map(|dir| format!("{}/{name}", dir.trim_end_matches('/')))
        .collect()
}

/// Raw descriptors the child puts on its stdio (all numbered >= 3).
#[derive(Debug, Default)]
pub(crate) struct ChildIo {
    /// New stdin, or `None` to inherit.
    pub(crate) stdin: Option<RawFd>,
    /// New stdout, or `None` to inherit.
    pub(crate) stdout: Option<RawFd>,
    /// New stderr, or `None` to inherit.
    pub(crate) stderr: Option<RawFd>,
    /// Pty slave: stdin/out/err and controlling terminal (overrides the rest).
    pub(crate) tty: Option<RawFd>,
}

/// The pipe a child waits on before exec: the parent writes one byte once
/// it has recorded the child's pid; end of file (the parent died first)
/// means "never exec". Also the start socket pair of a prepared child.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gate {
    /// Read end (the child's).
    pub(crate) read: RawFd,
    /// Write end (the parent's; the child closes its copy).
    pub(crate) write: RawFd,
}

/// Child entry point: set up stdio, run the plan (whose receive step is
/// where a prepared child waits for its start, on the `start` socket),
/// wait at the gate, exec. Never returns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    plan: &Plan,
    io: &ChildIo,
    cmd: &Command,
    argv: &[*const c_char],
    envp: &[*const c_char],
    report: RawFd,
    gate: Gate,
    start: Option<Gate>,
) -> ! {
    sys::reset_signals();
    crate::sys_confine::set_not_dumpable();
    // Only the parent may hold the write end, or its death would go unseen.
    sys::close(gate.write);
    if let Some(start) = start {
        sys::close(start.write);
    }
    if let Err(errno) = setup_io(io) {
        fail(report, STEP_IO, errno);
    }
    sys::mark_fds_cloexec(3);
    // A child prepared before its container exists ([`crate::prepare`])
    // waits in the plan's receive step until it does (end of file: it
    // never will).
    if let Err((index, errno)) = plan.run() {
        fail(report, index, errno);
    }
    if !sys::read_one(gate.read) {
        fail(report, STEP_GATE, Errno::EPIPE);
    }
    let errno = exec_first(&cmd.candidates, argv, envp);
    fail(report, STEP_EXEC, errno)
}

/// New session, stdio, and the controlling terminal for a tty.
fn setup_io(io: &ChildIo) -> sys::SysResult {
    sys::setsid()?;
    if let Some(tty) = io.tty {
        for target in 0..3 {
            sys::dup2(tty, target)?;
        }
        return sys::set_controlling_tty(0);
    }
    for (fd, target) in [(io.stdin, 0), (io.stdout, 1), (io.stderr, 2)] {
        if let Some(fd) = fd {
            sys::dup2(fd, target)?;
        }
    }
    Ok(())
}

/// Tries each candidate like `execvp`: skips missing ones, remembers
/// EACCES, stops at any other error. Returns only on failure.
fn exec_first(candidates: &[CString], argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    let mut denied = false;
    for path in candidates {
        // SAFETY: argv/envp are NULL-terminated arrays of live C strings.
        match unsafe { sys::execve(path, argv, envp) } {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ENODEV | Errno::ETIMEDOUT | Errno::ESTALE => {}
            Errno::EACCES => denied = true,
            other => return other,
        }
    }
    if denied {
        Errno::EACCES
    } else {
        Errno::ENOENT
    }
}

/// Encodes a failure report.
pub(crate) fn encode(index: u32, errno: Errno) -> [u8; 8] {
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&index.to_ne_bytes());
    buf[4..].copy_from_slice(&(errno as i32).to_ne_bytes());
    buf
}

/// Decodes a failure report.
pub(crate) fn decode(buf: [u8; 8]) -> (u32, Errno) {
    let index = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
    (index, Errno::from_raw(errno))
}

/// Reports the failure to the parent and exits (125, or 126/127 for exec).
fn fail(report: RawFd, index: u32, errno: Errno) -> ! {
    sys::write_all(report, &encode(index, errno));
    let code = match (index, errno) {
        (STEP_EXEC, Errno::ENOENT | Errno::ENOTDIR) => 127,
        (STEP_EXEC, _) => 126,
        _ => 125,
    };
    sys::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_like_execvp() {
        assert_eq!(search_candidates("./x", "/bin"), vec!["./x"]);
        assert_eq!(
            search_candidates("sh", "/usr/bin/::/bin"),
            vec!["/usr/bin/sh", "./sh", "/bin/sh"]
        );
    }

    #[test]
    fn command_uses_env_path_and_validates() {
        let env = vec![("PATH".to_string(), "/a:/b".to_string())];
        let cmd = Command::new(&["ls".into(), "-l".into()], &env).unwrap();
        assert_eq!(
            cmd.candidates,
            vec![cstring("/a/ls").unwrap(), cstring("/b/ls").unwrap()]
        );
        assert_eq!(cmd.envp, vec![cstring("PATH=/a:/b").unwrap()]);
        let (argv, envp) = cmd.pointers();
        assert_eq!((argv.len(), envp.len()), (3, 2));
        assert!(argv[2].is_null());
        let bad = vec![("A=B".to_string(), "x".to_string())];
        assert!(Command::new(&["ls".into()], &bad).is_err());
        assert!(Command::new(&[], &env).is_err());
        let nf = Command::new(&["ls".into()], &[]).unwrap();
        assert_eq!(nf.candidates.len(), 6);
        assert_eq!(nf.exec_error(Errno::ENOENT).exit_code(), 127);
        assert_eq!(nf.exec_error(Errno::EACCES).exit_code(), 126);
    }

    #[test]
    fn report_round_trip() {
        assert_eq!(decode(encode(7, Errno::EPERM)), (7, Errno::EPERM));
        assert_eq!(
            decode(encode(STEP_EXEC, Errno::ENOENT)),
            (STEP_EXEC, Errno::ENOENT)
        );
    }
}
