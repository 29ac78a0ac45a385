//! The container's file system view: the host's files or a rootfs.
//!
//! * **Host's files, confined** (no rootfs): every mount is made read-only
//!   (`mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)` on `/`, in the
//!   container's own mount namespace); fresh private tmpfs directories on
//!   `/tmp`, `/run` and `/var/tmp`; a new `/dev` ([`crate::dev`]); a fresh
//!   `proc` and a read-only `sysfs`; the secrets masked ([`crate::hide`]);
//!   then the etc files over `/etc/hosts`, `/etc/hostname`,
//!   `/etc/resolv.conf` (a target that does not exist on the host, or is a
//!   dangling symlink, is skipped: berth never creates files in the host's
//!   `/etc`; targets that are symlinks are followed, so the file they
//!   resolve to is covered, created first if it lies in a fresh tmpfs).
//! * **Host's files, `--privileged`**: the host's files as they are
//!   (writable), the host's `/dev`, a fresh `proc`, a writable `sysfs`.
//! * **Rootfs**: bind the rootfs onto itself (`nodev` unless privileged),
//!   `pivot_root(".", ".")` into it and detach the old root at once, then
//!   mount `proc`, `sysfs`, `/dev` and the etc files. Everything from the
//!   host was taken before the pivot, so after it nothing of the host is
//!   reachable and every path (mount points, symlinks, `..`) resolves
//!   inside the rootfs. Missing etc targets are created in the rootfs, a
//!   dangling symlink there is replaced by an empty file (`/etc/hostname`
//!   is best effort, e.g. for a read-only rootfs).
//!
//! The new `sysfs` shows the container's network interfaces in
//! `/sys/class/net`; it hides the host's submounts of `/sys` (such as
//! `/sys/fs/cgroup`), and is skipped silently if the kernel refuses it.

use std::path::Path;

use crate::error::RuntimeError;
use crate::hide::{Secrets, SCRATCH};
use crate::mounts::Sources;
use crate::plan::{cstring, path_cstring, Op, Plan};
use crate::spec::Confinement;

/// Flags of the `proc` mount.
const PROC_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
/// Flags of the scratch tmpfs directories.
const SCRATCH_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV;

/// The `sysfs` mount on `/sys` (read-only unless `rw`).
fn sysfs_op(rw: bool) -> Result<Op, RuntimeError> {
    let flags = if rw {
        PROC_FLAGS
    } else {
        PROC_FLAGS | libc::MS_RDONLY
    };
    Ok(Op::Mount {
        src: Some(cstring("sysfs")?),
        target: cstring("/sys")?,
        fstype: Some(cstring("sysfs")?),
        flags,
        data: None,
    })
}

/// The host's files, up to what needs the container's network namespace
/// and etc files ([`host_late`]); `secrets` is `None` for `--privileged`.
pub(crate) fn host(
    p: &mut Plan,
    src: &Sources,
    secrets: Option<&Secrets>,
) -> Result<(), RuntimeError> {
    let Some(secrets) = secrets else {
        return p.mount_fs("proc", "/proc", PROC_FLAGS, "");
    };
    p.push(Op::SetAttr {
        target: cstring("/")?,
        recursive: true,
        set: libc::MOUNT_ATTR_RDONLY,
        clr: 0,
    });
    for dir in SCRATCH {
        if Path::new(dir).is_dir() {
            let mode = if dir == "/run" {
                "mode=755"
            } else {
                "mode=1777"
            };
            p.mount_fs("tmpfs", dir, SCRATCH_FLAGS, mode)?;
        }
    }
    src.dev.mount(p)?;
    p.mount_fs("proc", "/proc", PROC_FLAGS, "")?;
    secrets.mount(p)
}

/// The rest of the host view, once in the container's network namespace:
/// `sysfs` (which shows the namespace it was mounted from) and the etc
/// files.
pub(crate) fn host_late(
    p: &mut Plan,
    src: &Sources,
    secrets: Option<&Secrets>,
) -> Result<(), RuntimeError> {
    p.push_optional(sysfs_op(secrets.is_none())?);
    etc_on_host(p, src, secrets)
}

/// The etc files in the host view (see the module doc).
fn etc_on_host(p: &mut Plan, src: &Sources, secrets: Option<&Secrets>) -> Result<(), RuntimeError> {
    for (target, slot, _) in &src.etc {
        let Ok(path) = std::fs::canonicalize(target) else {
            continue;
        };
        if secrets.is_some_and(|s| s.in_fresh_tmpfs(&path)) {
            if let Some(parent) = path.parent() {
                p.mkdir_all(parent)?;
            }
            p.push(Op::Touch(path_cstring(&path)?));
        }
        p.attach(slot, &path)?;
    }
    Ok(())
}

/// A rootfs (see the module doc), up to what needs the container's
/// network namespace and etc files ([`rootfs_late`]).
pub(crate) fn rootfs(
    p: &mut Plan,
    rootfs: &Path,
    src: &Sources,
    c: &Confinement,
) -> Result<(), RuntimeError> {
    let root = std::fs::canonicalize(rootfs)
        .map_err(|e| RuntimeError::path_io("resolve rootfs", rootfs, &e))?;
    p.push(Plan::bind_op(&root, &root)?);
    if !c.privileged {
        p.push(Op::SetAttr {
            target: path_cstring(&root)?,
            recursive: true,
            set: libc::MOUNT_ATTR_NODEV,
            clr: 0,
        });
    }
    p.push(Op::Chdir(path_cstring(&root)?));
    p.push(Op::PivotRoot {
        new_root: cstring(".")?,
        put_old: cstring(".")?,
    });
    // The old root is stacked on the new one: detach it (pivot_root(2)).
    p.push(Op::Umount(cstring(".")?));
    p.push(Op::Chdir(cstring("/")?));
    for dir in ["/proc", "/sys", "/dev", "/etc"] {
        p.push(Op::Mkdir(cstring(dir)?, 0o755));
    }
    p.mount_fs("proc", "/proc", PROC_FLAGS, "")?;
    src.dev.mount(p)
}

/// The rest of a rootfs, once in the container's network namespace:
/// `sysfs` and the etc files.
pub(crate) fn rootfs_late(
    p: &mut Plan,
    src: &Sources,
    c: &Confinement,
) -> Result<(), RuntimeError> {
    p.push_optional(sysfs_op(c.privileged)?);
    for (target, slot, mandatory) in &src.etc {
        let touch = Op::Touch(cstring(target)?);
        let attach = Op::Attach {
            slot: slot.raw(),
            target: cstring(target)?,
            what: format!("the container's {target}"),
        };
        if *mandatory {
            p.push(touch);
            p.push(attach);
        } else {
            p.push_optional(touch);
            p.push_optional(attach);
        }
    }
    Ok(())
}
