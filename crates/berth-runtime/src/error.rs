//! Error type of the runtime.
//!
//! Every variant names the operation that failed, the path or pid it was
//! applied to, and the errno. [`RuntimeError::exit_code`] maps an error to the
//! exit status `docker run` would report for it (125, 126 or 127).

use nix::errno::Errno;
use thiserror::Error;

/// Everything that can go wrong while starting, joining or watching a container.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// The process spec cannot be turned into an exec call (empty argv,
    /// NUL bytes in a string, `=` in an environment variable name, ...).
    #[error("invalid process spec: {0}")]
    InvalidSpec(String),

    /// The command was not found (in `$PATH`, or at the given path).
    /// `docker run` exits with 127 in this case.
    #[error("exec {cmd:?}: executable file not found in $PATH or no such file ({errno})")]
    CommandNotFound {
        /// `argv[0]` as given by the caller.
        cmd: String,
        /// errno reported by execve (ENOENT or ENOTDIR).
        errno: Errno,
    },

    /// The command exists but could not be executed (permission denied,
    /// exec format error, is a directory, ...). `docker run` exits with 126.
    #[error("exec {cmd:?}: cannot execute: {errno}")]
    NotExecutable {
        /// `argv[0]` as given by the caller.
        cmd: String,
        /// errno reported by execve.
        errno: Errno,
    },

    /// A setup step in the container process failed before exec (setns,
    /// mount, pivot_root, sethostname, chdir, ...). The step says what was
    /// done on which path.
    #[error("container setup failed: {step}: {errno}")]
    Setup {
        /// Description of the failed step, e.g. `mount proc on /proc`.
        step: String,
        /// errno of the failed system call.
        errno: Errno,
    },

    /// A system call on a path failed in the calling process.
    #[error("{op} {path}: {errno}")]
    Path {
        /// The operation, e.g. `open`.
        op: &'static str,
        /// The path it was applied to.
        path: String,
        /// errno of the failed system call.
        errno: Errno,
    },

    /// A system call about a process (signal, wait, pidfd) failed.
    #[error("{op} (pid {pid}): {errno}")]
    Process {
        /// The operation, e.g. `waitpid`.
        op: &'static str,
        /// The pid it was applied to.
        pid: i32,
        /// errno of the failed system call.
        errno: Errno,
    },

    /// The caller's hook refused or failed to record the new process
    /// before it was allowed to exec ([`crate::spawn_recorded`]); the
    /// process was killed without running the command.
    #[error("cannot record the container's process before starting it: {0}")]
    NotRecorded(String),

    /// Any other system call failed in the calling process.
    #[error("{op}: {errno}")]
    Sys {
        /// The operation, e.g. `fork`.
        op: &'static str,
        /// errno of the failed system call.
        errno: Errno,
    },
}

impl RuntimeError {
    /// The exit code `docker run` uses for this error: 127 when the command
    /// was not found, 126 when it could not be executed, 125 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::CommandNotFound { .. } => 127,
            RuntimeError::NotExecutable { .. } => 126,
            _ => 125,
        }
    }

    /// Shorthand for [`RuntimeError::Path`] from any path-like value.
    pub(crate) fn path(op: &'static str, path: impl AsRef<std::path::Path>, errno: Errno) -> Self {
        RuntimeError::Path {
            op,
            path: path.as_ref().display().to_string(),
            errno,
        }
    }

    /// Shorthand for [`RuntimeError::Path`] from a `std::io::Error`.
    pub(crate) fn path_io(
        op: &'static str,
        path: impl AsRef<std::path::Path>,
        err: &std::io::Error,
    ) -> Self {
        Self::path(op, path, io_errno(err))
    }

    /// Shorthand for [`RuntimeError::Sys`].
    pub(crate) fn sys(op: &'static str, errno: Errno) -> Self {
        RuntimeError::Sys { op, errno }
    }
}

/// The errno inside a `std::io::Error` (EIO when it carries none).
pub(crate) fn io_errno(err: &std::io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_docker() {
        let nf = RuntimeError::CommandNotFound {
            cmd: "x".into(),
            errno: Errno::ENOENT,
        };
        let ne = RuntimeError::NotExecutable {
            cmd: "x".into(),
            errno: Errno::EACCES,
        };
        let setup = RuntimeError::Setup {
            step: "mount proc on /proc".into(),
            errno: Errno::EPERM,
        };
        assert_eq!(nf.exit_code(), 127);
        assert_eq!(ne.exit_code(), 126);
        assert_eq!(setup.exit_code(), 125);
        assert!(setup.to_string().contains("mount proc on /proc"));
    }
}
