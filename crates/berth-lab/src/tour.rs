//! Running a whole program inside a throwaway bare lab (used by
//! `berth tour`, which re-executes itself there), and the isolation check
//! any process can make.

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::ExitStatus;

use crate::ns::{host_inodes, NsId};
use crate::{Lab, LabError};

/// Environment variable set (to the lab's name) for every command run in a lab.
pub const LAB_ENV: &str = "BERTH_LAB";

/// Errors unless the calling process's network namespace differs from the
/// host's: that of PID 1 and of PID 2 (kthreadd) where readable, and the
/// kernel's fixed inode for the initial network namespace.
pub fn assert_not_host_netns() -> Result<(), LabError> {
    let mine = NsId::of_path(Path::new("/proc/self/ns/net"))?;
    match host_inodes("net")
        .into_iter()
        .find(|(_, ino)| *ino == mine.ino)
    {
        Some((who, ino)) => Err(LabError::NotIsolated(format!(
            "this process runs in the host's network namespace (inode {ino}, that of {who})"
        ))),
        None => Ok(()),
    }
}

/// Whether this process was started by a lab ([`LAB_ENV`] is set). Pair it
/// with [`assert_not_host_netns`] before touching the network.
pub fn inside_lab() -> bool {
    std::env::var_os(LAB_ENV).is_some()
}

/// While alive, the calling process ignores the terminal's SIGINT and
/// SIGQUIT (the program in the lab still gets them and may die; the caller
/// survives to tear the lab down).
struct IgnoreTerminalSignals {
    int: libc::sighandler_t,
    quit: libc::sighandler_t,
}

impl IgnoreTerminalSignals {
    fn new() -> Self {
        // SAFETY: installing SIG_IGN has no handler code to be unsafe in.
        unsafe {
            IgnoreTerminalSignals {
                int: libc::signal(libc::SIGINT, libc::SIG_IGN),
                quit: libc::signal(libc::SIGQUIT, libc::SIG_IGN),
            }
        }
    }
}

impl Drop for IgnoreTerminalSignals {
    fn drop(&mut self) {
        // SAFETY: restores the dispositions returned by `signal` above.
        unsafe {
            if self.int != libc::SIG_ERR {
                libc::signal(libc::SIGINT, self.int);
            }
            if self.quit != libc::SIG_ERR {
                libc::signal(libc::SIGQUIT, self.quit);
            }
        }
    }
}

/// Creates a bare lab called `name`, runs `argv` (program and arguments)
/// inside it with inherited stdin/stdout/stderr, tears the lab down and
/// returns the program's exit status.
pub fn run_in_bare_lab<S: AsRef<OsStr>>(name: &str, argv: &[S]) -> Result<ExitStatus, LabError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(LabError::Spawn {
            what: "run_in_bare_lab".into(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "empty argv"),
        });
    };
    let lab = Lab::bare(name)?;
    let mut cmd = lab.command(program);
    cmd.args(args);
    let status = {
        let _ignore = IgnoreTerminalSignals::new();
        cmd.status().map_err(|source| LabError::Spawn {
            what: program.as_ref().to_string_lossy().into_owned(),
            source,
        })?
    };
    drop(lab);
    Ok(status)
}
