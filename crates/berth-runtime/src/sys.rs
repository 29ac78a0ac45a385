//! Thin wrappers around raw system calls.
//!
//! Everything used by the forked child before `execve` lives here and is
//! async-signal-safe: the functions only take pre-built C strings and raw fds,
//! never allocate, and report failures as an [`Errno`] read from `errno`.
//! The pidfd helpers are used by the parent side.

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr;

use libc::{c_char, c_int, c_ulong};
use nix::errno::Errno;

/// Result of a system call that returns nothing useful on success.
pub(crate) type SysResult = Result<(), Errno>;

/// Turns a `-1`-on-error return value into a [`SysResult`].
fn check(ret: libc::c_long) -> SysResult {
    if ret == -1 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Pointer of an optional C string (NULL for `None`).
fn opt_ptr(s: Option<&CStr>) -> *const c_char {
    s.map_or(ptr::null(), CStr::as_ptr)
}

/// `mount(2)`.
pub(crate) fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: c_ulong,
    data: Option<&CStr>,
) -> SysResult {
    // SAFETY: all pointers are NUL-terminated strings or NULL.
    let ret = unsafe {
        libc::mount(
            opt_ptr(src),
            target.as_ptr(),
            opt_ptr(fstype),
            flags,
            opt_ptr(data).cast(),
        )
    };
    check(ret.into())
}

/// `umount2(2)`.
pub(crate) fn umount2(target: &CStr, flags: c_int) -> SysResult {
    // SAFETY: target is a NUL-terminated string.
    check(unsafe { libc::umount2(target.as_ptr(), flags) }.into())
}

/// `setns(2)`.
pub(crate) fn setns(fd: RawFd, nstype: c_int) -> SysResult {
    // SAFETY: plain system call on an fd.
    check(unsafe { libc::setns(fd, nstype) }.into())
}

/// `unshare(2)`.
pub(crate) fn unshare(flags: c_int) -> SysResult {
    // SAFETY: plain system call.
    check(unsafe { libc::unshare(flags) }.into())
}

/// `sethostname(2)`.
pub(crate) fn sethostname(name: &CStr) -> SysResult {
    let bytes = name.to_bytes();
    // SAFETY: pointer and length describe `bytes`.
    check(unsafe { libc::sethostname(bytes.as_ptr().cast(), bytes.len()) }.into())
}

/// `setdomainname(2)`.
pub(crate) fn setdomainname(name: &CStr) -> SysResult {
    let bytes = name.to_bytes();
    // SAFETY: pointer and length describe `bytes`.
    check(unsafe { libc::setdomainname(bytes.as_ptr().cast(), bytes.len()) }.into())
}

/// `mkdir(2)`; an existing entry is not an error.
pub(crate) fn mkdir(path: &CStr, mode: libc::mode_t) -> SysResult {
    // SAFETY: path is a NUL-terminated string.
    match check(unsafe { libc::mkdir(path.as_ptr(), mode) }.into()) {
        Err(Errno::EEXIST) => Ok(()),
        other => other,
    }
}

/// Creates an empty regular file unless `path` already exists (following
/// symlinks), so that it can serve as a bind-mount target. A dangling
/// symlink at `path` is replaced by the new file.
pub(crate) fn touch(path: &CStr) -> SysResult {
    // SAFETY: path is a NUL-terminated string.
    if unsafe { libc::access(path.as_ptr(), libc::F_OK) } == 0 {
        return Ok(());
    }
    if Errno::last() == Errno::ENOENT {
        // Either nothing is there (unlink fails harmlessly) or a dangling symlink.
        // SAFETY: path is a NUL-terminated string.
        unsafe { libc::unlink(path.as_ptr()) };
    }
    let flags = libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: path is a NUL-terminated string; the fd is closed right away.
    let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644 as libc::c_uint) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd was just opened by us.
    unsafe { libc::close(fd) };
    Ok(())
}

/// `symlink(2)`; an existing entry is not an error.
pub(crate) fn symlink(target: &CStr, link: &CStr) -> SysResult {
    // SAFETY: both are NUL-terminated strings.
    match check(unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) }.into()) {
        Err(Errno::EEXIST) => Ok(()),
        other => other,
    }
}

/// `pivot_root(2)` (no libc wrapper exists).
pub(crate) fn pivot_root(new_root: &CStr, put_old: &CStr) -> SysResult {
    // SAFETY: both are NUL-terminated strings.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })
}

/// `chdir(2)`.
pub(crate) fn chdir(path: &CStr) -> SysResult {
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::chdir(path.as_ptr()) }.into())
}

/// `dup2(2)`; also clears close-on-exec when `from == to`.
pub(crate) fn dup2(from: RawFd, to: RawFd) -> SysResult {
    if from == to {
        // SAFETY: plain fcntl on an fd.
        return check(unsafe { libc::fcntl(from, libc::F_SETFD, 0) }.into());
    }
    // SAFETY: plain system call on fds.
    check(unsafe { libc::dup2(from, to) }.into())
}

/// `setsid(2)`.
pub(crate) fn setsid() -> SysResult {
    // SAFETY: plain system call.
    check(unsafe { libc::setsid() }.into())
}

/// Makes `fd` the controlling terminal of the calling session (`TIOCSCTTY`).
pub(crate) fn set_controlling_tty(fd: RawFd) -> SysResult {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal).
    check(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }.into())
}

/// `execve(2)`; returns only on failure, with its errno.
///
/// # Safety
/// `argv` and `envp` must be NULL-terminated arrays of pointers to
/// NUL-terminated strings that stay alive for the call.
pub(crate) unsafe fn execve(path: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    // SAFETY: guaranteed by the caller.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// Writes all of `buf` to `fd`, retrying on EINTR; errors are ignored
/// (used to report failures from the child, where nothing else can be done).
pub(crate) fn write_all(fd: RawFd, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: pointer and length describe `buf`.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// `close(2)`, ignoring errors (async-signal-safe).
pub(crate) fn close(fd: RawFd) {
    // SAFETY: closing a descriptor number has no memory-safety conditions.
    unsafe { libc::close(fd) };
}

/// Reads one byte from `fd` (retrying on EINTR); false on end of file or
/// an error (async-signal-safe).
pub(crate) fn read_one(fd: RawFd) -> bool {
    let mut b = 0u8;
    loop {
        // SAFETY: reading one byte into a local.
        let n = unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return n == 1;
    }
}

/// `_exit(2)`: leaves without running atexit handlers or destructors.
pub(crate) fn exit(code: c_int) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Restores the default disposition of every signal and unblocks them all,
/// so the exec'd program does not inherit ignored or blocked signals.
pub(crate) fn reset_signals() {
    // SAFETY: sigaction/sigprocmask on a zeroed struct are async-signal-safe;
    // failures (SIGKILL, SIGSTOP, reserved signals) are harmless.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        for sig in 1..65 {
            libc::sigaction(sig, &action, ptr::null_mut());
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, ptr::null_mut());
    }
}

/// Marks every fd from `first` up as close-on-exec (`close_range` with
/// `CLOSE_RANGE_CLOEXEC`), so no stray descriptor of the caller leaks into
/// the container. Best effort: ignored on kernels older than 5.11.
pub(crate) fn mark_fds_cloexec(first: libc::c_uint) {
    // SAFETY: plain system call.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

/// `pidfd_open(2)`: a descriptor that refers to exactly this process and
/// becomes readable when it exits.
pub(crate) fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: plain system call.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel returned a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// `pidfd_send_signal(2)`.
pub(crate) fn pidfd_send_signal(pidfd: RawFd, sig: c_int) -> SysResult {
    // SAFETY: plain system call; NULL siginfo means "like kill(2)".
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
}

/// Waits until `fd` is readable or `timeout_ms` passes (-1: forever).
/// Returns whether it became readable; EINTR counts as "not yet".
pub(crate) fn poll_readable(fd: RawFd, timeout_ms: c_int) -> Result<bool, Errno> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ret = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    match ret {
        -1 if Errno::last() == Errno::EINTR => Ok(false),
        -1 => Err(Errno::last()),
        0 => Ok(false),
        _ => Ok(true),
    }
}
