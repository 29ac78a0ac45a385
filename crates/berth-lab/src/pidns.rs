//! The lab's PID namespace: its holder, its init, and the fork that moves
//! every command of the lab into it.
//!
//! A lab must end exactly what it started and nothing else. Everything run
//! through [`crate::Lab::command`] lives in the lab's own PID namespace, so
//! when the lab's init exits the kernel kills every process in it — daemons
//! that double-forked, containers in nested PID namespaces, anything —
//! without the lab ever looking at other namespaces (a lab's mount namespace
//! inherits the host's `ip netns` pins: those are not the lab's).
//!
//! ```text
//!   caller (test, tour)            host PID namespace
//!     └─ holder  (waits for init; lab net + mnt namespaces)
//!          └─ init  (PID 1 of the lab; /proc of the lab; reaps orphans;
//!                    exits at end of file on a pipe only the lab writes to)
//!   command: fork → setns(pid) → fork
//!     └─ forwarder  (host PID ns; relays signals, mirrors the exit status)
//!          └─ the program  (lab PID ns; killed if the forwarder dies)
//! ```
//!
//! Everything here runs in forked children of a multi-threaded process, so
//! it makes raw, async-signal-safe system calls only: no allocation, no
//! locks. The holder and init never `exec`; they close every inherited
//! descriptor but the two pipes they use, so no other pipe of the calling
//! process (another lab's, a command's output) is kept open by them.

use std::io;
use std::os::fd::RawFd;

/// Message tags written on the report pipe (tag, value), 8 bytes each.
pub(crate) const REPORT_INIT_PID: u32 = 1;
/// The init is ready: its `/proc` is mounted.
pub(crate) const REPORT_READY: u32 = 2;
/// A setup step failed; the value is the errno (step in the high byte).
pub(crate) const REPORT_ERROR: u32 = 3;

/// Steps that can fail in the holder or init (for the error message).
pub(crate) const STEPS: [&str; 5] = [
    "unshare network, mount and PID namespaces",
    "make / private and mount a tmpfs on /run",
    "fork the lab's init",
    "mount the lab's /proc",
    "set up the holder's descriptors",
];

/// Turns a libc return value into an `io::Result` (no allocation).
pub(crate) fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The current errno as a plain integer.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Writes one (tag, value) report; errors are ignored (the reader sees EOF).
fn report(fd: RawFd, tag: u32, value: u32) {
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&tag.to_ne_bytes());
    buf[4..].copy_from_slice(&value.to_ne_bytes());
    // SAFETY: the buffer is valid for 8 bytes; 8 < PIPE_BUF, so atomic.
    unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
}

/// Decodes the reports read from the pipe: `(init pid, ready, error)`.
pub(crate) fn decode_reports(bytes: &[u8]) -> (Option<u32>, bool, Option<(usize, i32)>) {
    let (mut pid, mut ready, mut error) = (None, false, None);
    for chunk in bytes.chunks_exact(8) {
        let tag = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let value = u32::from_ne_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        match tag {
            REPORT_INIT_PID => pid = Some(value),
            REPORT_READY => ready = true,
            REPORT_ERROR => error = Some(((value >> 24) as usize, (value & 0xff_ffff) as i32)),
            _ => {}
        }
    }
    (pid, ready, error)
}

/// Reports a failed step and exits.
fn fail(fd: RawFd, step: usize, err: i32) -> ! {
    report(
        fd,
        REPORT_ERROR,
        ((step as u32) << 24) | (err as u32 & 0xff_ffff),
    );
    // SAFETY: plain system call.
    unsafe { libc::_exit(1) }
}

/// Closes every descriptor from `from` up.
fn close_from(from: u32) {
    // SAFETY: plain system call (close_range, Linux 5.9).
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0u32) };
}

/// The holder, in a child forked by the lab: `lifeline` is the read end of
/// the pipe the lab keeps the write end of, `reports` the write end of the
/// report pipe, `setup` makes the mounts of the lab's mount namespace.
/// Never returns.
pub(crate) fn holder_main(lifeline: RawFd, reports: RawFd, setup: fn() -> io::Result<()>) -> ! {
    // SAFETY (whole function): raw system calls on descriptors we own.
    unsafe {
        // Keep only the two pipes, as fds 0 and 1: nothing else of the
        // calling process stays open here.
        if libc::dup2(lifeline, 0) == -1 || libc::dup2(reports, 1) == -1 {
            fail(reports, 4, errno());
        }
        close_from(2);
        libc::setpgid(0, 0);
        let flags = libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWPID;
        if libc::unshare(flags) == -1 {
            fail(1, 0, errno());
        }
        if let Err(e) = setup() {
            fail(1, 1, e.raw_os_error().unwrap_or(0));
        }
        let init = libc::fork();
        if init == -1 {
            fail(1, 2, errno());
        }
        if init == 0 {
            init_main();
        }
        report(1, REPORT_INIT_PID, init as u32);
        libc::close(0);
        libc::close(1);
        let mut status = 0;
        while libc::waitpid(init, &mut status, 0) == -1 && errno() == libc::EINTR {}
        libc::_exit(0)
    }
}

/// PID 1 of the lab: mounts the lab's `/proc`, reports ready, then reaps
/// orphans until the lifeline (fd 0) reaches end of file. When it exits the
/// kernel kills everything else in the lab's PID namespace.
fn init_main() -> ! {
    // SAFETY (whole function): raw system calls.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The name tells `ns::host_inodes` that PID 1 is a lab's init.
        libc::prctl(libc::PR_SET_NAME, c"berth-lab-init".as_ptr());
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let proc_ = c"proc".as_ptr();
        if libc::mount(proc_, c"/proc".as_ptr(), proc_, flags, std::ptr::null()) == -1 {
            fail(1, 3, errno());
        }
        report(1, REPORT_READY, 0);
        libc::close(1);
        let mut buf = [0u8; 64];
        loop {
            let mut pfd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            if libc::poll(&mut pfd, 1, 100) > 0 {
                let n = libc::read(0, buf.as_mut_ptr().cast(), buf.len());
                if n == 0 || (n == -1 && errno() != libc::EINTR) {
                    libc::_exit(0);
                }
            }
            let mut status = 0;
            while libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 {}
        }
    }
}

/// Runs in a command's child between fork and exec, after it joined the
/// lab's PID namespace with `setns` (which only applies to its children):
/// forks once more. The new child returns `Ok` and goes on to exec the
/// program, inside the lab's PID namespace; this process becomes its
/// forwarder and never returns.
pub(crate) fn fork_into_pid_ns() -> io::Result<()> {
    // SAFETY (whole function): raw system calls; sigset_t is plain data.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        // Blocked before the fork: no signal (SIGCHLD included) is lost
        // between the fork and the forwarder's first wait.
        check(libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old))?;
        let child = libc::fork();
        if child == -1 {
            let e = io::Error::last_os_error();
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            return Err(e);
        }
        if child == 0 {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // Our parent is outside our PID namespace: getppid() is 0
            // unless it already died and we were reparented to the init.
            if libc::getppid() != 0 {
                libc::_exit(1);
            }
            return Ok(());
        }
        forward(child, &all)
    }
}

/// The forwarder: relays every signal it gets to `child` and, when the
/// child ends, ends the same way (exit code, or the same signal).
fn forward(child: libc::pid_t, all: &libc::sigset_t) -> ! {
    // SAFETY (whole function): raw system calls.
    unsafe {
        // Nothing of the caller's stays open here: the pipe std uses to
        // learn that exec succeeded closes when the program execs.
        close_from(0);
        loop {
            let sig = libc::sigwaitinfo(all, std::ptr::null_mut());
            if sig == -1 {
                continue;
            }
            if sig != libc::SIGCHLD {
                libc::kill(child, sig);
                continue;
            }
            let mut status = 0;
            if libc::waitpid(child, &mut status, libc::WNOHANG) != child {
                continue;
            }
            if libc::WIFEXITED(status) {
                libc::_exit(libc::WEXITSTATUS(status));
            }
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            let mut one: libc::sigset_t = std::mem::zeroed();
            libc::sigaddset(&mut one, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let mut bytes = Vec::new();
        for (tag, value) in [(REPORT_INIT_PID, 4242), (REPORT_ERROR, (3 << 24) | 1)] {
            bytes.extend_from_slice(&tag.to_ne_bytes());
            bytes.extend_from_slice(&(value as u32).to_ne_bytes());
        }
        assert_eq!(decode_reports(&bytes), (Some(4242), false, Some((3, 1))));
    }
}
