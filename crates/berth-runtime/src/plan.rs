//! The setup steps a new process performs between `fork` and `execve`.
//!
//! A [`Plan`] is built in the parent (opening namespace files, converting
//! every path to a C string) so that the child only has to walk a list of
//! pre-built [`Op`]s, which needs no allocation. When a step fails the child
//! reports its index; the parent turns that into a readable description with
//! [`Plan::describe`].

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use libc::{c_int, c_ulong};
use nix::errno::Errno;

use crate::error::RuntimeError;
use crate::sys::{self, SysResult};
use crate::sys_confine;

/// One setup step executed by the child.
#[derive(Debug)]
pub(crate) enum Op {
    /// Join the namespace behind `fd`.
    Setns {
        fd: OwnedFd,
        nstype: c_int,
        label: String,
    },
    /// Wait for the start message on the socket `sock` and put the
    /// descriptors it carries on `slots`, in order
    /// ([`crate::handover`]): the network namespace and etc files of a
    /// child forked before they existed.
    Receive { sock: RawFd, slots: Vec<RawFd> },
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
    /// Set the hostname of the (new) UTS namespace.
    Sethostname(CString),
    /// Set the NIS domain name of the (new) UTS namespace.
    Setdomainname(CString),
    /// Change the working directory.
    Chdir(CString),
    /// `open_tree(OPEN_TREE_CLONE)` of `src` (a detached copy of its
    /// mount, recursive or not, with mount attributes `set` applied), kept
    /// at the reserved descriptor `slot` until [`Op::Attach`] uses it.
    CloneTree {
        src: CString,
        slot: RawFd,
        recursive: bool,
        set: u64,
    },
    /// `move_mount` of the detached mount at `slot` onto `target`
    /// (following symlinks in `target`, resolved in the current root).
    Attach {
        slot: RawFd,
        target: CString,
        what: String,
    },
    /// `mount_setattr`: set and clear mount attributes of `target`.
    SetAttr {
        target: CString,
        recursive: bool,
        set: u64,
        clr: u64,
    },
    /// Drop every capability not in the mask from the bounding set
    /// (capabilities `0..=last`).
    DropBounding { keep: u64, last: u32 },
    /// Clear the ambient capability set.
    ClearAmbient,
    /// Set `no_new_privs`.
    NoNewPrivs,
    /// Install a seccomp BPF filter.
    Seccomp(Arc<Vec<seccompiler::sock_filter>>),
    /// Set the effective, permitted and inheritable sets to the mask.
    Capset(u64),
}

impl Op {
    /// Performs the step. Async-signal-safe: called in the forked child.
    pub(crate) fn run(&self) -> SysResult {
        match self {
            Op::Setns { fd, nstype, .. } => sys::setns(fd.as_raw_fd(), *nstype),
            Op::Receive { sock, slots } => crate::handover::receive(*sock, slots),
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
            Op::Sethostname(name) => sys::sethostname(name),
            Op::Setdomainname(name) => sys::setdomainname(name),
            Op::Chdir(path) => sys::chdir(path),
            Op::CloneTree {
                src,
                slot,
                recursive,
                set,
            } => sys_confine::clone_tree(src, *slot, *recursive, *set),
            Op::Attach { slot, target, .. } => sys_confine::attach_tree(*slot, target),
            Op::SetAttr {
                target,
                recursive,
                set,
                clr,
            } => sys_confine::mount_setattr(target, *recursive, *set, *clr),
            Op::DropBounding { keep, last } => sys_confine::drop_bounding(*keep, *last),
            Op::ClearAmbient => sys_confine::clear_ambient(),
            Op::NoNewPrivs => sys_confine::no_new_privs(),
            Op::Seccomp(prog) => sys_confine::seccomp_filter(prog),
            Op::Capset(mask) => sys_confine::capset(*mask),
        }
    }

    /// Human-readable description, used in error messages.
    pub(crate) fn describe(&self) -> String {
        let s = |c: &CString| c.to_string_lossy().into_owned();
        match self {
            Op::Setns { label, .. } => label.clone(),
            Op::Receive { .. } => {
                "receive the network namespace and the etc files from the supervisor".into()
            }
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
            Op::Sethostname(h) => format!("sethostname {:?}", s(h)),
            Op::Setdomainname(d) => format!("setdomainname {:?}", s(d)),
            Op::Chdir(p) => format!("chdir to {}", s(p)),
            Op::CloneTree { src, .. } => format!("take a copy of the mount of {}", s(src)),
            Op::Attach { target, what, .. } => format!("mount {what} on {}", s(target)),
            Op::SetAttr { target, set, .. } if set & libc::MOUNT_ATTR_RDONLY != 0 => {
                format!("make {} read-only", s(target))
            }
            Op::SetAttr { target, .. } => format!("set mount attributes of {}", s(target)),
            Op::DropBounding { .. } => "drop capabilities from the bounding set".into(),
            Op::ClearAmbient => "clear the ambient capabilities".into(),
            Op::NoNewPrivs => "set no_new_privs".into(),
            Op::Seccomp(_) => "install the seccomp filter".into(),
            Op::Capset(mask) => format!("set capabilities to {mask:#x}"),
        }
    }
}

/// What a failing step means for the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnError {
    /// Abort the start (report the step).
    Fail,
    /// Best effort: go on.
    Ignore,
    /// A missing target (ENOENT) is fine: there is nothing to cover.
    IgnoreMissing,
}

/// A step plus what its failure means.
#[derive(Debug)]
struct Step {
    op: Op,
    on_error: OnError,
}

/// The ordered list of setup steps for one new process.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    steps: Vec<Step>,
    /// Descriptors reserved in the parent for [`Op::CloneTree`]: the child
    /// replaces each with its detached mount (`dup3`), so no step has to
    /// allocate or remember anything.
    slots: Vec<OwnedFd>,
}

impl Plan {
    /// Appends a step whose failure aborts the start.
    pub(crate) fn push(&mut self, op: Op) {
        self.steps.push(Step {
            op,
            on_error: OnError::Fail,
        });
    }

    /// Appends a best-effort step whose failure is ignored.
    pub(crate) fn push_optional(&mut self, op: Op) {
        self.steps.push(Step {
            op,
            on_error: OnError::Ignore,
        });
    }

    /// Appends a step that may find its target missing (ENOENT), e.g. a
    /// `/proc` file this kernel does not have; any other error aborts.
    pub(crate) fn push_unless_missing(&mut self, op: Op) {
        self.steps.push(Step {
            op,
            on_error: OnError::IgnoreMissing,
        });
    }

    /// Runs every step in order; on the first failing mandatory step returns
    /// its index and errno. Async-signal-safe: called in the forked child.
    pub(crate) fn run(&self) -> Result<(), (u32, Errno)> {
        for (i, step) in self.steps.iter().enumerate() {
            if let Err(errno) = step.op.run() {
                match step.on_error {
                    OnError::Ignore => {}
                    OnError::IgnoreMissing if errno == Errno::ENOENT => {}
                    _ => return Err((i as u32, errno)),
                }
            }
        }
        Ok(())
    }

    /// Appends taking a detached copy of the mount at `src` (see
    /// [`Op::CloneTree`]) and returns the slot to [`Plan::attach`] later.
    /// Taken early, while the host's paths are all visible, and attached
    /// after the container's view is built (or after `pivot_root`).
    pub(crate) fn clone_tree(
        &mut self,
        src: &Path,
        recursive: bool,
        set: u64,
    ) -> Result<Slot, RuntimeError> {
        let fd = crate::fds::dev_null()?;
        let slot = Slot {
            fd: fd.as_raw_fd(),
            what: src.display().to_string(),
        };
        self.slots.push(fd);
        self.push(Op::CloneTree {
            src: path_cstring(src)?,
            slot: slot.fd,
            recursive,
            set,
        });
        Ok(slot)
    }

    /// Appends attaching the mount taken by [`Plan::clone_tree`] on `target`.
    pub(crate) fn attach(&mut self, slot: &Slot, target: &Path) -> Result<(), RuntimeError> {
        self.push(Op::Attach {
            slot: slot.fd,
            target: path_cstring(target)?,
            what: slot.what.clone(),
        });
        Ok(())
    }

    /// Appends creating `dir` and its missing parents (mode 0755). Run
    /// after `pivot_root`, symlinks resolve inside the container's root.
    pub(crate) fn mkdir_all(&mut self, dir: &Path) -> Result<(), RuntimeError> {
        let mut at = std::path::PathBuf::from("/");
        for part in dir.components().skip(1) {
            at.push(part);
            self.push(Op::Mkdir(path_cstring(&at)?, 0o755));
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

    /// Reserves a descriptor for a detached mount of `what` that the child
    /// receives ([`Op::Receive`]) instead of taking it ([`Plan::clone_tree`]).
    pub(crate) fn reserve(&mut self, what: &Path) -> Result<Slot, RuntimeError> {
        let fd = crate::fds::dev_null()?;
        let slot = Slot {
            fd: fd.as_raw_fd(),
            what: what.display().to_string(),
        };
        self.slots.push(fd);
        Ok(slot)
    }
}

/// A descriptor reserved for a detached mount (see [`Plan::clone_tree`]).
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    fd: RawFd,
    what: String,
}

impl Slot {
    /// The reserved descriptor number.
    pub(crate) fn raw(&self) -> RawFd {
        self.fd
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
