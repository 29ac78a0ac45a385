//! The namespace and mount plan of a new container ([`crate::spawn`]).
//!
//! Order of the steps run by the child (already PID 1 of its new PID ns):
//! join the network namespace; unshare mount, UTS and IPC namespaces; make
//! `/` recursively private (nothing propagates back to the host); set the
//! hostname; then either
//!
//! * **no rootfs**: mount a fresh `proc` on `/proc`, a read-only `sysfs` on
//!   `/sys` (best effort) and bind the three etc files over `/etc/hosts`,
//!   `/etc/hostname`, `/etc/resolv.conf`. A target that does not exist on the
//!   host (or is a dangling symlink) is skipped: berth never creates files in
//!   the host's `/etc`. Targets that are symlinks (e.g. resolv.conf to
//!   systemd-resolved) are followed by `mount(2)`, so the file they resolve to
//!   is covered — which is what programs reading the symlink see.
//! * **rootfs**: bind the rootfs onto itself, `pivot_root` into it with the
//!   old root at `/.berth-oldroot`, and only then mount `proc`, `sysfs`, a
//!   tmpfs `/dev` and the etc files. Doing it after the pivot means symlinks
//!   inside the rootfs resolve inside the rootfs, never on the host. The etc
//!   files and device nodes are bound from under the old root (their host
//!   paths are canonicalized first), then the old root is detached and
//!   removed. Missing etc targets are created in the rootfs, a dangling
//!   symlink there is replaced by an empty file (`/etc/hostname` is best
//!   effort, e.g. for a read-only rootfs).
//!
//! The new `sysfs` shows the container's network interfaces in
//! `/sys/class/net`; it hides the host's submounts of `/sys` (such as
//! `/sys/fs/cgroup`), and is skipped silently if the kernel refuses it.
//! Without a rootfs the container keeps the host's `/dev`.
//!
//! `/dev` in a rootfs is a tmpfs holding bind mounts of the host's `null`,
//! `zero`, `full`, `random`, `urandom` and `tty` nodes, a new `devpts`
//! instance (with `/dev/ptmx -> pts/ptmx`), a tmpfs `/dev/shm`, the usual
//! `/dev/fd` and `/dev/std*` symlinks, and (with a tty) the pty slave bound
//! on `/dev/console`.

use std::path::{Path, PathBuf};

use crate::error::RuntimeError;
use crate::plan::{cstring, path_cstring, Op, Plan};
use crate::spec::ProcessSpec;

/// Name of the directory (inside the rootfs) the old root is moved to.
const OLD_ROOT: &str = ".berth-oldroot";
/// Device nodes bound from the host's `/dev` into a rootfs.
const DEV_NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];
/// Flags of the `proc` mount.
const PROC_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
/// Flags of the (read-only) `sysfs` mount.
const SYS_FLAGS: libc::c_ulong = PROC_FLAGS | libc::MS_RDONLY;

/// Builds the plan for [`crate::spawn`]. `console` is the host path of the
/// pty slave when the container gets a tty.
pub(crate) fn spawn_plan(spec: &ProcessSpec, console: Option<&Path>) -> Result<Plan, RuntimeError> {
    let mut p = Plan::default();
    p.join_ns(&spec.netns, libc::CLONE_NEWNET, "network")?;
    p.push(Op::Unshare(
        libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC,
    ));
    p.make_root_private()?;
    if !spec.hostname.is_empty() {
        p.push(Op::Sethostname(cstring(&spec.hostname)?));
    }
    let etc = etc_sources(spec)?;
    match &spec.rootfs {
        None => host_mounts(&mut p, &etc)?,
        Some(rootfs) => rootfs_mounts(&mut p, rootfs, &etc, console)?,
    }
    let workdir = spec.workdir.as_deref().unwrap_or(Path::new("/"));
    p.push(Op::Chdir(path_cstring(workdir)?));
    Ok(p)
}

/// `(target in the container, canonical host source, mandatory)` for the
/// three etc files.
fn etc_sources(spec: &ProcessSpec) -> Result<Vec<(&'static str, PathBuf, bool)>, RuntimeError> {
    let canon = |p: &Path| {
        std::fs::canonicalize(p).map_err(|e| RuntimeError::path_io("resolve etc file", p, &e))
    };
    Ok(vec![
        ("/etc/hosts", canon(&spec.etc.hosts)?, true),
        ("/etc/hostname", canon(&spec.etc.hostname)?, false),
        ("/etc/resolv.conf", canon(&spec.etc.resolv_conf)?, true),
    ])
}

/// Mounts for a container that shares the host's file system view.
fn host_mounts(p: &mut Plan, etc: &[(&'static str, PathBuf, bool)]) -> Result<(), RuntimeError> {
    p.mount_fs("proc", "/proc", PROC_FLAGS, "")?;
    p.push_optional(sysfs_op()?);
    for (target, src, _) in etc {
        if Path::new(target).exists() {
            p.push(Plan::bind_op(src, Path::new(target))?);
        }
    }
    Ok(())
}

/// The (best-effort) sysfs mount on `/sys`.
fn sysfs_op() -> Result<Op, RuntimeError> {
    Ok(Op::Mount {
        src: Some(cstring("sysfs")?),
        target: cstring("/sys")?,
        fstype: Some(cstring("sysfs")?),
        flags: SYS_FLAGS,
        data: None,
    })
}

/// Path of a host file as seen from inside the new root before the old
/// root is detached.
fn under_old_root(host: &Path) -> PathBuf {
    Path::new("/")
        .join(OLD_ROOT)
        .join(host.strip_prefix("/").unwrap_or(host))
}

/// Mounts for a container with its own root directory.
fn rootfs_mounts(
    p: &mut Plan,
    rootfs: &Path,
    etc: &[(&'static str, PathBuf, bool)],
    console: Option<&Path>,
) -> Result<(), RuntimeError> {
    let root = std::fs::canonicalize(rootfs)
        .map_err(|e| RuntimeError::path_io("resolve rootfs", rootfs, &e))?;
    p.push(Plan::bind_op(&root, &root)?);
    p.push(Op::Chdir(path_cstring(&root)?));
    p.push(Op::Mkdir(cstring(OLD_ROOT)?, 0o700));
    p.push(Op::PivotRoot {
        new_root: cstring(".")?,
        put_old: cstring(OLD_ROOT)?,
    });
    p.push(Op::Chdir(cstring("/")?));
    for dir in ["/proc", "/sys", "/dev", "/etc"] {
        p.push(Op::Mkdir(cstring(dir)?, 0o755));
    }
    p.mount_fs("proc", "/proc", PROC_FLAGS, "")?;
    p.push_optional(sysfs_op()?);
    dev_mounts(p, console)?;
    for (target, src, mandatory) in etc {
        let touch = Op::Touch(cstring(target)?);
        let bind = Plan::bind_op(&under_old_root(src), Path::new(target))?;
        if *mandatory {
            p.push(touch);
            p.push(bind);
        } else {
            p.push_optional(touch);
            p.push_optional(bind);
        }
    }
    let old = format!("/{OLD_ROOT}");
    p.push(Op::Umount(cstring(&old)?));
    p.push_optional(Op::Rmdir(cstring(&old)?));
    Ok(())
}

/// A minimal `/dev` for a rootfs container (see the module doc).
fn dev_mounts(p: &mut Plan, console: Option<&Path>) -> Result<(), RuntimeError> {
    let tmpfs_flags = libc::MS_NOSUID | libc::MS_STRICTATIME;
    p.mount_fs("tmpfs", "/dev", tmpfs_flags, "mode=755,size=65536k")?;
    for node in DEV_NODES {
        let target = PathBuf::from("/dev").join(node);
        p.push(Op::Touch(path_cstring(&target)?));
        p.push(Plan::bind_op(
            &under_old_root(&Path::new("/dev").join(node)),
            &target,
        )?);
    }
    p.push(Op::Mkdir(cstring("/dev/pts")?, 0o755));
    let pts_data = "newinstance,ptmxmode=0666,mode=0620";
    p.mount_fs(
        "devpts",
        "/dev/pts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        pts_data,
    )?;
    p.push(Op::Mkdir(cstring("/dev/shm")?, 0o1777));
    let shm_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    p.mount_fs("tmpfs", "/dev/shm", shm_flags, "mode=1777,size=65536k")?;
    let links = [
        ("pts/ptmx", "/dev/ptmx"),
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ];
    for (target, link) in links {
        p.push(Op::Symlink {
            target: cstring(target)?,
            link: cstring(link)?,
        });
    }
    if let Some(slave) = console {
        p.push_optional(Op::Touch(cstring("/dev/console")?));
        p.push_optional(Plan::bind_op(
            &under_old_root(slave),
            Path::new("/dev/console"),
        )?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_root_paths() {
        assert_eq!(
            under_old_root(Path::new("/run/berth/c1/hosts")),
            PathBuf::from("/.berth-oldroot/run/berth/c1/hosts")
        );
        assert_eq!(
            under_old_root(Path::new("/dev/null")),
            PathBuf::from("/.berth-oldroot/dev/null")
        );
    }
}
