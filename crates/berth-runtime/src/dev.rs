//! The container's `/dev`.
//!
//! A tmpfs (`nosuid`, `nodev`, `mode=755`) holding the host's `null`,
//! `zero`, `full`, `random`, `urandom` and `tty` nodes (detached copies of
//! their mounts, taken before the host's `/dev` is covered, so they keep
//! the host `/dev`'s flags and work), a new `devpts` instance (with
//! `/dev/ptmx -> pts/ptmx`), a tmpfs `/dev/shm`, the usual `/dev/fd` and
//! `/dev/std*` symlinks, and (with a tty) the pty slave on `/dev/console`.
//!
//! `nodev` is what stops a device node made with `mknod` (CAP_MKNOD is one
//! of Docker's defaults) from being opened: Docker relies on the devices
//! cgroup for that, berth on `nodev` on every mount the container can
//! write to. With `--privileged` the container gets the host's whole
//! `/dev` instead.

use std::path::Path;

use crate::error::RuntimeError;
use crate::plan::{cstring, path_cstring, Op, Plan, Slot};

/// Device nodes taken from the host's `/dev`.
pub(crate) const NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// What the container's `/dev` is made from.
#[derive(Debug)]
pub(crate) enum DevSources {
    /// The standard nodes, by name, and the console (a pty slave).
    Standard {
        nodes: Vec<(&'static str, Slot)>,
        console: Option<Slot>,
    },
    /// The host's `/dev` with its submounts (`--privileged` with a rootfs).
    Host(Slot),
    /// Keep the `/dev` the container already sees (`--privileged` without
    /// a rootfs: the host's).
    Keep,
}

impl DevSources {
    /// Appends taking the sources while the host's `/dev` is visible.
    pub(crate) fn take(
        p: &mut Plan,
        privileged: bool,
        rootfs: bool,
        console: Option<&Path>,
    ) -> Result<DevSources, RuntimeError> {
        match (privileged, rootfs) {
            (true, false) => return Ok(DevSources::Keep),
            (true, true) => {
                return Ok(DevSources::Host(p.clone_tree(
                    Path::new("/dev"),
                    true,
                    0,
                )?))
            }
            _ => {}
        }
        let mut nodes = Vec::with_capacity(NODES.len());
        for node in NODES {
            let src = Path::new("/dev").join(node);
            nodes.push((node, p.clone_tree(&src, false, 0)?));
        }
        let console = console.map(|c| p.clone_tree(c, false, 0)).transpose()?;
        Ok(DevSources::Standard { nodes, console })
    }

    /// Appends building `/dev` (the directory exists).
    pub(crate) fn mount(&self, p: &mut Plan) -> Result<(), RuntimeError> {
        match self {
            DevSources::Keep => Ok(()),
            DevSources::Host(slot) => p.attach(slot, Path::new("/dev")),
            DevSources::Standard { nodes, console } => standard(p, nodes, console.as_ref()),
        }
    }
}

/// The minimal `/dev` (see the module doc).
fn standard(
    p: &mut Plan,
    nodes: &[(&'static str, Slot)],
    console: Option<&Slot>,
) -> Result<(), RuntimeError> {
    let tmpfs_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_STRICTATIME;
    p.mount_fs("tmpfs", "/dev", tmpfs_flags, "mode=755,size=65536k")?;
    for (node, slot) in nodes {
        let target = Path::new("/dev").join(node);
        p.push(Op::Touch(path_cstring(&target)?));
        p.attach(slot, &target)?;
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
    if let Some(slot) = console {
        p.push_optional(Op::Touch(cstring("/dev/console")?));
        p.push_optional(Op::Attach {
            slot: slot.raw(),
            target: cstring("/dev/console")?,
            what: "the pty".into(),
        });
    }
    Ok(())
}
