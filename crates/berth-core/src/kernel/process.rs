//! Processes, as the kernel shows them in `/proc`: is a recorded process
//! still the one that was recorded (PID and start time)? And ending one.

use std::time::{Duration, Instant};

/// Start time (field 22 of /proc/PID/stat, clock ticks since boot) of a
/// process, to tell a live process from a reused PID; `None` when there is
/// no such process or it is dead (a zombie not yet reaped: a killed
/// container whose supervisor died too waits for init to reap it).
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// True when `pid` is alive (not a zombie) and, if known, started at `start`.
pub fn pid_alive(pid: i32, start: Option<u64>) -> bool {
    match (proc_start_time(pid), start) {
        (Some(now), Some(s)) => now == s,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// This process: its PID and start time (0 when `/proc` does not say).
pub fn this_process() -> (i32, u64) {
    let pid = std::process::id() as i32;
    (pid, proc_start_time(pid).unwrap_or(0))
}

/// Ends process `pid` (started at `start`): SIGTERM, then SIGKILL after
/// `grace` (SIGKILL at once when zero), and waits until it is gone (or a
/// zombie). Does nothing when it is not alive.
pub fn kill_and_wait(pid: i32, start: Option<u64>, grace: Duration) {
    if !pid_alive(pid, start) {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(pid);
    let signals = if grace.is_zero() {
        vec![nix::sys::signal::SIGKILL]
    } else {
        vec![nix::sys::signal::SIGTERM, nix::sys::signal::SIGKILL]
    };
    // A pidfd taken before signalling says exactly when the process ends
    // (no polling delay); None on kernels without pidfd_open.
    let pidfd = pidfd_open(pid.as_raw()).filter(|_| pid_alive(pid.as_raw(), start));
    for sig in signals {
        let _ = nix::sys::signal::kill(pid, sig);
        let wait = if sig == nix::sys::signal::SIGKILL {
            Duration::from_secs(10)
        } else {
            grace
        };
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if !pid_alive(pid.as_raw(), start) || is_zombie(pid.as_raw()) {
                return;
            }
            match &pidfd {
                Some(fd) => wait_readable(fd, deadline.saturating_duration_since(Instant::now())),
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }
}

/// `pidfd_open(2)`: an fd that becomes readable when `pid` exits. Not in
/// nix 0.31, hence the raw syscall.
fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a fresh fd we own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits until `fd` is readable or `timeout` passes.
fn wait_readable(fd: &std::os::fd::OwnedFd, timeout: Duration) {
    use std::os::fd::AsFd;
    let mut fds = [nix::poll::PollFd::new(
        fd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(timeout.as_millis().clamp(1, 10_000)).unwrap_or(10_000);
    let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}
