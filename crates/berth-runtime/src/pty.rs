//! Pseudo-terminals for `-t`: allocating a pty pair, putting the caller's
//! terminal in raw mode (restored on drop), and window sizes.
//!
//! The slave goes to the container through [`crate::ContainerIo::Tty`]
//! (it becomes its stdin/stdout/stderr and controlling terminal); the master
//! stays with the caller, which relays it with [`crate::wait_attached`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

use crate::error::RuntimeError;

/// A pseudo-terminal pair. Both ends are close-on-exec.
#[derive(Debug)]
pub struct Pty {
    /// The caller's side: read the container's output, write its input.
    pub master: OwnedFd,
    /// The container's side; pass it as [`crate::ContainerIo::Tty`].
    pub slave: OwnedFd,
    /// Path of the slave device (`/dev/pts/N`).
    pub slave_path: PathBuf,
}

impl Pty {
    /// Allocates a new pty pair (`posix_openpt`, `grantpt`, `unlockpt`).
    pub fn open() -> Result<Pty, RuntimeError> {
        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let err = |op: &'static str| move |e: Errno| RuntimeError::sys(op, e);
        let master = nix::pty::posix_openpt(flags).map_err(err("posix_openpt"))?;
        nix::pty::grantpt(&master).map_err(err("grantpt"))?;
        nix::pty::unlockpt(&master).map_err(err("unlockpt"))?;
        let slave_path = PathBuf::from(nix::pty::ptsname_r(&master).map_err(err("ptsname_r"))?);
        let slave = nix::fcntl::open(&slave_path, flags, nix::sys::stat::Mode::empty())
            .map_err(|e| RuntimeError::path("open pty slave", &slave_path, e))?;
        Ok(Pty {
            master: OwnedFd::from(master),
            slave,
            slave_path,
        })
    }
}

/// Whether `fd` refers to a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// Window size `(rows, columns)` of the terminal `fd`.
pub fn window_size(fd: BorrowedFd<'_>) -> Result<(u16, u16), RuntimeError> {
    // SAFETY: zeroed winsize is a valid out-parameter for TIOCGWINSZ.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return Err(RuntimeError::sys("ioctl(TIOCGWINSZ)", Errno::last()));
    }
    Ok((ws.ws_row, ws.ws_col))
}

/// Sets the window size of the terminal `fd` (e.g. a pty master).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), RuntimeError> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(RuntimeError::sys("ioctl(TIOCSWINSZ)", Errno::last()));
    }
    Ok(())
}

/// Copies the window size of terminal `from` to `to` (the caller's terminal
/// to the pty master: at start and on every SIGWINCH).
pub fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), RuntimeError> {
    let (rows, cols) = window_size(from)?;
    set_window_size(to, rows, cols)
}

/// Puts a terminal in raw mode and restores its previous settings on drop.
#[derive(Debug)]
pub struct RawModeGuard {
    fd: OwnedFd,
    saved: Termios,
}

impl RawModeGuard {
    /// Switches the terminal `fd` (usually the caller's stdin) to raw mode.
    pub fn enable(fd: BorrowedFd<'_>) -> Result<Self, RuntimeError> {
        // SAFETY: plain fcntl; keeps our own handle so restoring on drop
        // does not depend on the caller's fd staying open.
        let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return Err(RuntimeError::sys("dup terminal fd", Errno::last()));
        }
        // SAFETY: dup is a new fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(dup) };
        let saved = tcgetattr(&fd).map_err(|e| RuntimeError::sys("tcgetattr", e))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&fd, SetArg::TCSANOW, &raw).map_err(|e| RuntimeError::sys("tcsetattr", e))?;
        Ok(RawModeGuard { fd, saved })
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        let _ = tcsetattr(self.fd.as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pty_pair_window_size_and_raw_mode() {
        let pty = Pty::open().unwrap();
        assert!(pty.slave_path.starts_with("/dev/pts"));
        assert!(is_terminal(pty.slave.as_fd()));
        set_window_size(pty.master.as_fd(), 33, 101).unwrap();
        assert_eq!(window_size(pty.slave.as_fd()).unwrap(), (33, 101));
        copy_window_size(pty.slave.as_fd(), pty.master.as_fd()).unwrap();
        let before = tcgetattr(&pty.slave).unwrap();
        {
            let _guard = RawModeGuard::enable(pty.slave.as_fd()).unwrap();
            let raw = tcgetattr(&pty.slave).unwrap();
            assert!(!raw
                .local_flags
                .contains(nix::sys::termios::LocalFlags::ICANON));
        }
        let after = tcgetattr(&pty.slave).unwrap();
        assert_eq!(before.local_flags, after.local_flags);
        let devnull = std::fs::File::open("/dev/null").unwrap();
        assert!(!is_terminal(devnull.as_fd()));
    }
}
