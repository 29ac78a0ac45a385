//! Processes, as the kernel shows them in `/proc`: is a recorded process
//! still the one that was recorded (PID and start time)? And ending one.

use std::time::{Duration, Instant};

/// Start time (field 22 of /proc/PID/stat, clock ticks since boot) of a
/// process, to tell a live process from a reused PID; `None` when there is
/// no such process or it is dead (a zombie not yet reaped: a killed
/// container whose supervisor died too waits for init to reap it).
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let mut buf = [0u8; 1024];
    let (state, start) = parse_stat(read_stat(pid, &mut buf)?)?;
    if matches!(state, "Z" | "X" | "x") {
        return None;
    }
    start
}

/// Reads `/proc/PID/stat` into `buf` with one read(2) (the kernel renders
/// the whole line for the first read; `ps`, `network inspect` and the reap
/// check many processes, so no growing buffer and no second read).
/// `None` when there is no such process.
fn read_stat(pid: i32, buf: &mut [u8; 1024]) -> Option<&[u8]> {
    use std::io::Read;
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = f.read(buf).ok()?;
    Some(&buf[..n])
}

/// The state (field 3) and start time (field 22) of a `/proc/PID/stat`
/// line (pure). The command name (field 2, in parentheses) is whatever
/// the process set, any bytes, ')' included: the fields are those after
/// the last ')', so a name that is not UTF-8 still parses (a container
/// naming itself so must not look dead to the liveness checks).
fn parse_stat(line: &[u8]) -> Option<(&str, Option<u64>)> {
    let close = line.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&line[close + 1..]).ok()?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    Some((state, fields.nth(18).and_then(|f| f.parse().ok())))
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
    let mut buf = [0u8; 1024];
    read_stat(pid, &mut buf)
        .and_then(parse_stat)
        .is_some_and(|(state, _)| state == "Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIL: &[u8] = b" S 1 2 2 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 10 1 2 3";

    #[test]
    fn the_fields_after_any_command_name_are_read() {
        for name in [&b"sleep"[..], b"a) b (c)", b"\xff\xfe)x"] {
            let mut line = b"123 (".to_vec();
            line.extend_from_slice(name);
            line.push(b')');
            line.extend_from_slice(TAIL);
            assert_eq!(parse_stat(&line), Some(("S", Some(4242))), "{name:?}");
        }
        assert_eq!(parse_stat(b"123 (x"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let (pid, start) = this_process();
        assert!(start > 0);
        assert!(pid_alive(pid, Some(start)));
        assert!(!pid_alive(pid, Some(start + 1)));
        assert!(!is_zombie(pid));
    }
}
