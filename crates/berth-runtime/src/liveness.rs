//! Liveness of processes berth is not (or no longer) the parent of, e.g. a
//! detached container's PID 1 looked up from its state file.
//!
//! A pid alone is ambiguous once the process has exited (pids are reused),
//! so callers store the pair (pid, start time) and every check compares the
//! start time (field 22 of `/proc/<pid>/stat`, in clock ticks since boot).
//! Signals are sent through a pidfd opened *before* the start time is
//! compared, so the check and the signal refer to the same process.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::error::RuntimeError;
use crate::sys;

/// Fields of `/proc/<pid>/stat` berth cares about.
struct Stat {
    /// Field 3: R, S, D, Z, X, ...
    state: char,
    /// Field 22: start time in clock ticks after boot.
    start_time: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is whatever the
/// process set, any bytes, spaces and parentheses included, so fields are
/// counted after the last `)` and the name is never decoded (a process
/// naming itself with bytes that are not UTF-8 must not look gone).
fn parse_stat(line: &[u8]) -> Option<Stat> {
    let close = line.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&line[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `fields` now starts at field 4; field 22 is 18 further.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(Stat { state, start_time })
}

/// Reads and parses `/proc/<pid>/stat`.
fn read_stat(pid: i32) -> Option<Stat> {
    if pid <= 0 {
        return None;
    }
    let line = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&line)
}

/// Start time of `pid` (field 22 of `/proc/<pid>/stat`), or `None` if no
/// such process exists.
pub fn process_start_time(pid: i32) -> Option<u64> {
    read_stat(pid).map(|s| s.start_time)
}

/// Whether the process `pid` that started at `start_time` still runs (a
/// zombie, i.e. exited but not yet reaped, counts as not alive).
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    matches!(read_stat(pid), Some(s) if s.start_time == start_time && !matches!(s.state, 'Z' | 'X' | 'x'))
}

/// Sends `sig` to the process (pid, start_time). Returns `Ok(false)` when
/// that process no longer exists.
pub fn signal_process(pid: i32, start_time: u64, sig: Signal) -> Result<bool, RuntimeError> {
    let Some(pidfd) = open_checked(pid, start_time)? else {
        return Ok(false);
    };
    match sys::pidfd_send_signal(pidfd.as_raw_fd(), sig as i32) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(errno) => Err(RuntimeError::Process {
            op: "pidfd_send_signal",
            pid,
            errno,
        }),
    }
}

/// `docker stop` for a process berth is not the parent of: SIGTERM, wait up
/// to `timeout` for it to exit, then SIGKILL and wait up to 5 more seconds.
/// Returns `Ok(false)` if it was not running in the first place.
pub fn terminate(pid: i32, start_time: u64, timeout: Duration) -> Result<bool, RuntimeError> {
    let Some(pidfd) = open_checked(pid, start_time)? else {
        return Ok(false);
    };
    let fd = pidfd.as_raw_fd();
    let send = |sig: Signal| match sys::pidfd_send_signal(fd, sig as i32) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(errno) => Err(RuntimeError::Process {
            op: "pidfd_send_signal",
            pid,
            errno,
        }),
    };
    send(Signal::SIGTERM)?;
    if wait_readable(fd, timeout, pid)? {
        return Ok(true);
    }
    send(Signal::SIGKILL)?;
    wait_readable(fd, Duration::from_secs(5), pid)?;
    Ok(true)
}

/// Opens a pidfd for `pid` and checks that it is still the process that
/// started at `start_time`. `None` if it is gone or the pid was reused.
fn open_checked(pid: i32, start_time: u64) -> Result<Option<std::os::fd::OwnedFd>, RuntimeError> {
    if pid <= 0 {
        return Ok(None);
    }
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(Errno::ESRCH) => return Ok(None),
        Err(errno) => {
            return Err(RuntimeError::Process {
                op: "pidfd_open",
                pid,
                errno,
            })
        }
    };
    Ok(is_alive(pid, start_time).then_some(pidfd))
}

/// Polls a pidfd until it is readable (the process exited) or `timeout`.
fn wait_readable(fd: i32, timeout: Duration, pid: i32) -> Result<bool, RuntimeError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        match sys::poll_readable(fd, ms) {
            Ok(true) => return Ok(true),
            Ok(false) if left.is_zero() => return Ok(false),
            Ok(false) => {}
            Err(errno) => {
                return Err(RuntimeError::Process {
                    op: "poll pidfd",
                    pid,
                    errno,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_odd_command_names() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        let st = parse_stat(line.as_bytes()).unwrap();
        assert_eq!((st.state, st.start_time), ('S', 98765));
        assert!(parse_stat(b"garbage").is_none());
        let mut odd = b"42 (\xff\xfe)".to_vec();
        odd.extend_from_slice(&line.as_bytes()[line.find(") S").unwrap() + 1..]);
        let st = parse_stat(&odd).unwrap();
        assert_eq!((st.state, st.start_time), ('S', 98765));
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped through `Process`
    fn own_process_and_children() {
        let me = std::process::id() as i32;
        let start = process_start_time(me).unwrap();
        assert!(is_alive(me, start));
        assert!(!is_alive(me, start + 1));
        assert_eq!(process_start_time(-1), None);

        let child = std::process::Command::new("/bin/busybox")
            .args(["sleep", "30"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let start = process_start_time(pid).unwrap();
        assert!(!signal_process(pid, start + 1, Signal::SIGTERM).unwrap());
        assert!(terminate(pid, start, Duration::from_secs(5)).unwrap());
        let mut p = crate::Process::new(pid);
        assert_eq!(p.wait().unwrap().code(), 128 + 15);
        assert!(!is_alive(pid, start));
    }
}
