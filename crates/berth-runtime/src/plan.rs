//! The setup steps a new process performs between `fork` and `execve`.
//!
//! A [`Plan`] is built in the parent (opening namespace files, converting
//! every path to a C string) so that the child only has to walk a list of
//! pre-built [`Op`]s, which needs no allocation. When a step fails the child
//! reports its index; the parent turns that into a readable description with
//! [`Plan::describe`].

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use libc::{c_int, c_ulong};

use crate::error::RuntimeError;
use crate::sys::{self, SysResult};

/// One setup step executed by the child.
#[derive(Debug)]
pub(crate) enum Op {
    /// Join the namespace behind `fd`.
    Setns {
        fd: OwnedFd,
        nstype: c_int,
        label: String,
    },
    /// Create new namespaces for the child.
    Unshare(c_int),
    /// `mount(2)` (also used for bind mounts and propagation changes).
    Mount {
        src: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: c_ulong,
        data: Option<CString>,
    },
    /// Detach a mount.
    Umount(CString),
    /// Create a directory (existing is fine).
    Mkdir(CString, libc::mode_t),
    /// Create an empty file if nothing exists at the path.
    Touch(CString),
    /// Create a symlink `link -> target`.
    Symlink { target: CString, link: CString },
    /// `pivot_root(new_root, put_old)`.
    PivotRoot { new_root: CString, put_old: CString },
    /// Remove an empty directory.
    Rmdir(CString),
    /// Set the hostname of the (new) UTS namespace.
    Sethostname(CString),
    /// Change the working directory.
    Chdir(CString),
}

impl Op {
    /// Performs the step. Async-signal-safe: called in the forked child.
    pub(crate) fn run(&self) -> SysResult {
        match self {
            Op::Setns { fd, nstype, .. } => sys::setns(fd.as_raw_fd(), *nstype),
            Op::Unshare(flags) => sys::unshare(*flags),
            Op::Mount {
                src,
                target,
                fstype,
                flags,
                data,
            } => sys::mount(
                src.as_deref(),
                target,
                fstype.as_deref(),
                *flags,
                data.as_deref(),
            ),
            Op::Umount(target) => sys::umount2(target, libc::MNT_DETACH),
            Op::Mkdir(path, mode) => sys::mkdir(path, *mode),
            Op::Touch(path) => sys::touch(path),
            Op::Symlink { target, link } => sys::symlink(target, link),
            Op::PivotRoot { new_root, put_old } => sys::pivot_root(new_root, put_old),
            Op::Rmdir(path) => sys::rmdir(path),
            Op::Sethostname(name) => sys::sethostname(name),
            Op::Chdir(path) => sys::chdir(path),
        }
    }

    /// Human-readable description, used in error messages.
    pub(crate) fn describe(&self) -> String {
        let s = |c: &CString| c.to_string_lossy().into_owned();
        match self {
            Op::Setns { label, .. } => label.clone(),
            Op::Unshare(flags) => format!("unshare namespaces (flags {flags:#x})"),
            Op::Mount { flags, target, .. } if flags & libc::MS_PRIVATE != 0 => {
                format!("make {} recursively private", s(target))
            }
            Op::Mount {
                src: Some(src),
                target,
                flags,
                ..
            } if flags & libc::MS_BIND != 0 => format!("bind-mount {} on {}", s(src), s(target)),
            Op::Mount { fstype, target, .. } => {
                let fs = fstype.as_ref().map(s).unwrap_or_default();
                format!("mount {fs} on {}", s(target))
            }
            Op::Umount(t) => format!("unmount {}", s(t)),
            Op::Mkdir(p, _) => format!("create directory {}", s(p)),
            Op::Touch(p) => format!("create mount point {}", s(p)),
            Op::Symlink { target, link } => format!("symlink {} -> {}", s(link), s(target)),
            Op::PivotRoot { new_root, put_old } => {
                format!("pivot_root to {} (old root at {})", s(new_root), s(put_old))
            }
            Op::Rmdir(p) => format!("remove directory {}", s(p)),
            Op::Sethostname(h) => format!("sethostname {:?}", s(h)),
            Op::Chdir(p) => format!("chdir to {}", s(p)),
        }
    }
}

/// A step plus whether its failure is tolerated (best-effort steps).
#[derive(Debug)]
struct Step {
    op: Op,
    optional: bool,
}

/// The ordered list of setup steps for one new process.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    steps: Vec<Step>,
}

impl Plan {
    /// Appends a step whose failure aborts the start.
    pub(crate) fn push(&mut self, op: Op) {
        self.steps.push(Step {
            op,
            optional: false,
        });
    }

    /// Appends a best-effort step whose failure is ignored.
    pub(crate) fn push_optional(&mut self, op: Op) {
        self.steps.push(Step { op, optional: true });
    }

    /// Runs every step in order; on the first failing mandatory step returns
    /// its index and errno. Async-signal-safe: called in the forked child.
    pub(crate) fn run(&self) -> Result<(), (u32, nix::errno::Errno)> {
        for (i, step) in self.steps.iter().enumerate() {
            if let Err(errno) = step.op.run() {
                if !step.optional {
                    return Err((i as u32, errno));
                }
            }
        }
        Ok(())
    }

    /// Description of step `index` (as reported by the child).
    pub(crate) fn describe(&self, index: u32) -> String {
        self.steps
            .get(index as usize)
            .map_or_else(|| format!("setup step {index}"), |s| s.op.describe())
    }

    /// Appends a `mount` of a fresh file system instance.
    pub(crate) fn mount_fs(
        &mut self,
        fstype: &str,
        target: &str,
        flags: c_ulong,
        data: &str,
    ) -> Result<(), RuntimeError> {
        let op = Op::Mount {
            src: Some(cstring(fstype)?),
            target: cstring(target)?,
            fstype: Some(cstring(fstype)?),
            flags,
            data: (!data.is_empty()).then(|| cstring(data)).transpose()?,
        };
        self.push(op);
        Ok(())
    }

    /// Builds a bind mount of `src` onto `target` (not yet appended).
    pub(crate) fn bind_op(src: &Path, target: &Path) -> Result<Op, RuntimeError> {
        Ok(Op::Mount {
            src: Some(path_cstring(src)?),
            target: path_cstring(target)?,
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
        })
    }

    /// Appends "make `/` recursively private" so no mount made by the child
    /// propagates back to the host's mount namespace.
    pub(crate) fn make_root_private(&mut self) -> Result<(), RuntimeError> {
        self.push(Op::Mount {
            src: None,
            target: cstring("/")?,
            fstype: None,
            flags: libc::MS_REC | libc::MS_PRIVATE,
            data: None,
        });
        Ok(())
    }

    /// Appends joining the namespace file `path` (opened now, in the parent).
    pub(crate) fn join_ns(
        &mut self,
        path: &Path,
        nstype: c_int,
        what: &str,
    ) -> Result<(), RuntimeError> {
        let fd = open_ns(path)?;
        self.push(Op::Setns {
            fd,
            nstype,
            label: format!("join {what} namespace {}", path.display()),
        });
        Ok(())
    }
}

/// Opens a namespace file read-only and close-on-exec, at an fd number >= 3.
pub(crate) fn open_ns(path: &Path) -> Result<OwnedFd, RuntimeError> {
    let file = std::fs::File::open(path)
        .map_err(|e| RuntimeError::path_io("open namespace file", path, &e))?;
    crate::fds::above_stdio(OwnedFd::from(file))
}

/// Converts a string to a C string, rejecting interior NUL bytes.
pub(crate) fn cstring(s: &str) -> Result<CString, RuntimeError> {
    CString::new(s).map_err(|_| RuntimeError::InvalidSpec(format!("{s:?} contains a NUL byte")))
}

/// Converts a path to a C string, rejecting interior NUL bytes.
pub(crate) fn path_cstring(p: &Path) -> Result<CString, RuntimeError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::InvalidSpec(format!("path {} contains a NUL byte", p.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_the_paths() {
        let op = Plan::bind_op(Path::new("/h/hosts"), Path::new("/etc/hosts")).unwrap();
        assert_eq!(op.describe(), "bind-mount /h/hosts on /etc/hosts");
        let mut p = Plan::default();
        p.mount_fs("proc", "/proc", 0, "").unwrap();
        p.make_root_private().unwrap();
        assert_eq!(p.describe(0), "mount proc on /proc");
        assert_eq!(p.describe(1), "make / recursively private");
        assert_eq!(p.describe(7), "setup step 7");
    }

    #[test]
    fn nul_bytes_are_rejected() {
        assert!(cstring("a\0b").is_err());
        assert!(path_cstring(Path::new("/x\0")).is_err());
    }
}
