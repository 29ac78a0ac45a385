//! File-descriptor helpers used by the parent before forking: keeping
//! descriptors out of the 0..=2 range (so `dup2` onto stdio in the child can
//! never clobber them) and creating close-on-exec pipes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::RuntimeError;

/// Returns `fd` itself if its number is >= 3, otherwise a close-on-exec
/// duplicate numbered >= 3 (the original is closed).
pub(crate) fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, RuntimeError> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: plain fcntl on a valid fd.
    let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        return Err(RuntimeError::sys("fcntl(F_DUPFD_CLOEXEC)", Errno::last()));
    }
    // SAFETY: dup is a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

/// A close-on-exec pipe `(read end, write end)`, both numbered >= 3.
pub(crate) fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd), RuntimeError> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RuntimeError::sys("pipe2", e))?;
    Ok((above_stdio(r)?, above_stdio(w)?))
}

/// Opens `/dev/null` read-write, close-on-exec, at an fd >= 3.
pub(crate) fn dev_null() -> Result<OwnedFd, RuntimeError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| RuntimeError::path_io("open", "/dev/null", &e))?;
    above_stdio(OwnedFd::from(file))
}
