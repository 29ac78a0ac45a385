//! The mount-namespace anchor under berth's namespace pins: why a
//! container's mount namespace holds none of them (issue 13, goal 3; see
//! docs/decisions/0018-pins-out-of-mount-namespaces.md).
//!
//! A pin is a bind mount of a network namespace file (see
//! [`super::netns`]), and every new mount namespace starts as a copy of
//! its creator's mounts: each container (`unshare(CLONE_NEWNS)`), each
//! systemd service with a private `/tmp`, each other runtime would copy
//! every pin — container k copies k of them, n² mounts for the host, and
//! the copies keep other containers' namespaces alive after `rm`. The
//! kernel copies no mount of a *mount* namespace file, nor anything mounted
//! on top of one (`copy_tree` skips such a subtree, to avoid reference
//! loops). So berth first bind-mounts a mount namespace file of its own —
//! the anchor — on the pin's path and then the network namespace on top of
//! it: the path still opens the network namespace, and copies skip both.
//!
//! The anchor namespace holds nothing but an empty tmpfs (everything the
//! creator saw is detached right away, so it keeps no host mount busy and
//! no namespace alive). It is pinned once at `RUN/mnt-anchor` and made
//! again when missing (after a reboot, or removed by hand); two processes
//! making it at once stack two anchors there, which is harmless. When it
//! cannot be made or used (e.g. the caller's mount namespace is newer than
//! the anchor, which the kernel refuses to avoid loops), pins are made as
//! before, unanchored.

use crate::error::{Error, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Name of the anchor's pin in berth's runtime dir (beside `netns/`).
const ANCHOR: &str = "mnt-anchor";

/// `NS_GET_NSTYPE` (linux/nsfs.h): the `CLONE_NEW*` type of a namespace fd.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Where the anchor of the pin at `pin` (`RUN/netns/ID`) lives:
/// `RUN/mnt-anchor`.
pub fn path_for(pin: &Path) -> Option<PathBuf> {
    Some(pin.parent()?.parent()?.join(ANCHOR))
}

/// True when a namespace file (of any type) is mounted at `path`.
pub fn is_nsfs(path: &Path) -> bool {
    let ns_magic = 0x6e73_6673; // NSFS_MAGIC
    nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 == ns_magic)
}

/// The namespace type (`CLONE_NEW*`) of what is mounted at `path`, if it
/// is a namespace file.
pub fn ns_type(path: &Path) -> Option<i32> {
    if !is_nsfs(path) {
        return None;
    }
    let f = File::open(path).ok()?;
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd.
    let t = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE as _) };
    (t >= 0).then_some(t)
}

/// Mounts the anchor (made first if missing) on `target`, before a pin of
/// the namespace goes on top. Returns whether it did: `false` leaves
/// `target` as it was (the pin is then made unanchored, as before).
pub fn under(pin: &Path, target: &Path) -> bool {
    let Some(anchor) = path_for(pin) else {
        return false;
    };
    if ns_type(&anchor) != Some(libc::CLONE_NEWNS) {
        if let Err(e) = create(&anchor) {
            tracing::debug!("no mount-namespace anchor for the pins: {e}");
            return false;
        }
    }
    let bind = || {
        mount(
            Some(&anchor),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    let mut result = bind();
    // On a shared parent (`ip netns`'s /run/netns) a mount is copied into
    // every peer, and the kernel copies no mount-namespace file: while a
    // new mount namespace is a peer (a container's process between its
    // unshare and making its mounts private, microseconds), the anchor
    // fails with EINVAL. Unanchored, the pin would then be copied into
    // every later container's namespace and keep this one alive after
    // its removal. So a few short retries; a lasting peer (another
    // program's namespace receiving the host's mounts) still ends
    // unanchored, after ~1 ms.
    for _ in 0..ANCHOR_RETRIES {
        if result != Err(nix::errno::Errno::EINVAL) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
        result = bind();
    }
    if let Err(e) = result {
        tracing::debug!("pin {} unanchored: {e}", target.display());
    }
    result.is_ok()
}

/// How many times an anchor refused with EINVAL is tried again (see
/// [`under`]).
const ANCHOR_RETRIES: usize = 5;

/// Unmounts every namespace mount stacked on `path` (pin and anchor); a
/// plain file or a missing path is fine.
pub fn unmount_all(path: &Path) -> Result<()> {
    for _ in 0..16 {
        if !is_nsfs(path) {
            return Ok(());
        }
        match umount2(path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
            Err(nix::errno::Errno::ENOENT) => return Ok(()),
            Err(e) => {
                return Err(Error::kernel(format!(
                    "cannot unmount namespace {}: {e}",
                    path.display()
                )))
            }
        }
    }
    Ok(())
}

/// Unpins and removes the anchor of the runtime dir `run` (for `system
/// reset`: pins still on it keep the namespace alive until they go).
pub fn remove(run: &Path) -> Result<()> {
    let anchor = run.join(ANCHOR);
    unmount_all(&anchor)?;
    match std::fs::remove_file(&anchor) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::internal(format!(
            "cannot remove {}: {e}",
            anchor.display()
        ))),
        _ => Ok(()),
    }
}

/// Makes the anchor namespace and pins it at `anchor`.
///
/// The kernel binds a mount namespace file only into an older namespace
/// (a smaller id), and since Linux 6.18 namespace ids come from per-CPU
/// batches: a namespace made on another CPU than the caller's own may get
/// a smaller id (`EINVAL`). So the namespace is made on each CPU the
/// caller may run on in turn, until one binds; the CPU that made the
/// caller's namespace always gives a larger id.
fn create(anchor: &Path) -> Result<()> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let dir = anchor
        .parent()
        .ok_or_else(|| Error::internal(format!("{} has no parent", anchor.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    if let Err(e) = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(anchor)
    {
        return Err(Error::internal(format!(
            "cannot create {}: {e}",
            anchor.display()
        )));
    }
    let allowed = sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map_err(|e| Error::kernel(format!("anchor: sched_getaffinity: {e}")))?;
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|c| allowed.is_set(*c).unwrap_or(false))
        .take(256)
        .collect();
    let mut last = Error::kernel("anchor: no CPU to run on");
    for cpu in cpus {
        let ns = std::thread::scope(|s| {
            s.spawn(|| empty_namespace(dir, cpu))
                .join()
                .unwrap_or_else(|_| Err(Error::internal("anchor thread panicked")))
        })?;
        match bind(&ns, anchor) {
            Ok(()) => return Ok(()),
            Err(nix::errno::Errno::EINVAL) => {
                last = Error::kernel(format!(
                    "cannot pin {}: the kernel refuses (EINVAL) on every CPU",
                    anchor.display()
                ))
            }
            Err(e) => {
                return Err(Error::kernel(format!(
                    "cannot pin {}: {e}",
                    anchor.display()
                )))
            }
        }
    }
    Err(last)
}

/// Bind-mounts the namespace file `ns` on `anchor`.
fn bind(ns: &File, anchor: &Path) -> nix::Result<()> {
    let src = format!("/proc/self/fd/{}", ns.as_raw_fd());
    mount(
        Some(src.as_str()),
        anchor,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
}

/// On its own (short-lived) thread, moved to `cpu`: a new mount
/// namespace holding only an empty tmpfs (mounted on `dir`, then made its
/// root with the copied mounts detached); returns its file. The caller's
/// mounts are untouched: `unshare` and `pivot_root` act on this thread
/// alone, whose namespace is private.
fn empty_namespace(dir: &Path, cpu: usize) -> Result<File> {
    let err = |what: &str, e: nix::errno::Errno| Error::kernel(format!("anchor: {what}: {e}"));
    let mut only = nix::sched::CpuSet::new();
    only.set(cpu).map_err(|e| err("cpu set", e))?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &only)
        .map_err(|e| err("sched_setaffinity", e))?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| err("unshare", e))?;
    let ns = File::open("/proc/thread-self/ns/mnt")?;
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    mount(None::<&str>, "/", None::<&str>, private, None::<&str>)
        .map_err(|e| err("make / private", e))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        flags,
        Some("size=4k,mode=0700"),
    )
    .map_err(|e| err("mount tmpfs", e))?;
    nix::unistd::chdir(dir).map_err(|e| err("chdir", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| err("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| err("detach the old root", e))?;
    Ok(ns)
}
