//! The namespace, mount and confinement plan of a new container
//! ([`crate::spawn`]).
//!
//! Order of the steps run by the child (already PID 1 of its new PID ns):
//!
//! 1. unshare mount, UTS and IPC namespaces; make `/` recursively private
//!    (nothing propagates back to the host); set the hostname;
//! 2. take detached copies (`open_tree`) of everything the container gets
//!    from the host — the etc files (unless they come later, see below),
//!    the device nodes, the pty, the `-v` sources — while every host path
//!    is still visible;
//! 3. build the file system view ([`crate::view`]): the host's files
//!    (read-only unless `--privileged`, with private `/tmp`, `/run`,
//!    `/var/tmp` and the secrets masked) or a rootfs (`pivot_root`, the old
//!    root detached at once), with `proc` and `/dev`; mask Docker's
//!    `/proc` paths;
//! 4. a child prepared before its container exists ([`crate::prepare`])
//!    stops here until its start, then receives its network namespace and
//!    copies of its etc files ([`crate::handover`]);
//! 5. join the network namespace, then mount `sysfs` (it shows the
//!    namespace it is mounted from) and attach the etc files and the `-v`
//!    mounts; mount points missing in a rootfs are created there after the
//!    pivot, so `..` and symlinks resolve inside the rootfs, never on the
//!    host; in the host view only inside its fresh tmpfs directories
//!    (never on the host's disk);
//! 6. mask Docker's `/sys` paths (and with `-v` mounts, the `/proc` ones
//!    only now, after them); with `--read-only` make the rootfs read-only;
//! 7. change to the working directory, then drop capabilities, set
//!    `no_new_privs` and install the seccomp filter ([`crate::confine`]),
//!    the last steps before `execve`.

use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use crate::dev::DevSources;
use crate::error::RuntimeError;
use crate::hide::{self, Secrets};
use crate::plan::{cstring, open_ns, path_cstring, Op, Plan, Slot};
use crate::spec::{BindMount, ProcessSpec};

/// The three etc files: target in the container, mandatory.
const ETC: [(&str, bool); 3] = [
    ("/etc/hosts", true),
    ("/etc/hostname", false),
    ("/etc/resolv.conf", true),
];

/// Everything taken from the host in step 2.
#[derive(Debug)]
pub(crate) struct Sources {
    /// Etc files: (target, slot, mandatory).
    pub(crate) etc: Vec<(&'static str, Slot, bool)>,
    /// The container's `/dev`.
    pub(crate) dev: DevSources,
    /// `-v` mounts: (target, slot, source is a directory).
    pub(crate) volumes: Vec<(PathBuf, Slot, bool)>,
}

/// Where the child gets its network namespace and etc files from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Handover {
    /// They exist: the namespace is opened now, the etc files are taken
    /// by the child before it builds its view.
    Now,
    /// They are made after the fork ([`crate::prepare`]): the child builds
    /// its view first, then receives them on this socket
    /// ([`crate::handover`]).
    Later(RawFd),
}

/// Builds the plan for [`crate::spawn`]. `console` is the host path of the
/// pty slave when the container gets a tty. The steps that need neither
/// the network namespace nor the etc files come first (with
/// [`Handover::Later`], the child runs them before its start).
pub(crate) fn spawn_plan(
    spec: &ProcessSpec,
    console: Option<&Path>,
    handover: Handover,
) -> Result<Plan, RuntimeError> {
    let c = &spec.confinement;
    let mut p = Plan::default();
    let netns = match handover {
        Handover::Now => open_ns(&spec.netns)?,
        Handover::Later(_) => crate::fds::dev_null()?,
    };
    p.push(Op::Unshare(
        libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC,
    ));
    p.make_root_private()?;
    if !spec.hostname.is_empty() {
        p.push(Op::Sethostname(cstring(&spec.hostname)?));
    }
    if !spec.domainname.is_empty() {
        p.push(Op::Setdomainname(cstring(&spec.domainname)?));
    }
    validate_mounts(
        spec.rootfs.as_deref(),
        c.privileged,
        &c.hidden,
        &spec.mounts,
    )?;
    let src = take_sources(&mut p, spec, console, handover)?;
    let secrets = (spec.rootfs.is_none() && !c.privileged).then(|| Secrets::scan(&c.hidden));
    match &spec.rootfs {
        Some(rootfs) => crate::view::rootfs(&mut p, rootfs, &src, c)?,
        None => crate::view::host(&mut p, &src, secrets.as_ref())?,
    }
    // `-v` targets may lie under /sys: with volumes, they and the masks
    // keep their order after sysfs.
    let late_volumes = !src.volumes.is_empty();
    if !c.privileged && !late_volumes {
        hide::proc(&mut p)?;
    }
    if let Handover::Later(sock) = handover {
        let mut slots = vec![netns.as_raw_fd()];
        slots.extend(src.etc.iter().map(|(_, slot, _)| slot.raw()));
        p.push(Op::Receive { sock, slots });
    }
    p.push(Op::Setns {
        fd: netns,
        nstype: libc::CLONE_NEWNET,
        label: format!("join network namespace {}", spec.netns.display()),
    });
    late_steps(&mut p, spec, &src, secrets.as_ref(), late_volumes)?;
    Ok(p)
}

/// The steps after joining the network namespace: `sysfs`, the etc files,
/// the `-v` mounts, the masks, `--read-only`, the working directory and
/// the confinement.
fn late_steps(
    p: &mut Plan,
    spec: &ProcessSpec,
    src: &Sources,
    secrets: Option<&Secrets>,
    late_volumes: bool,
) -> Result<(), RuntimeError> {
    let c = &spec.confinement;
    match &spec.rootfs {
        Some(_) => {
            crate::view::rootfs_late(p, src, c)?;
            volumes_in_rootfs(p, &src.volumes)?;
        }
        None => {
            crate::view::host_late(p, src, secrets)?;
            volumes_on_host(p, &src.volumes, secrets)?;
        }
    }
    if !c.privileged {
        if late_volumes {
            hide::proc(p)?;
        }
        hide::sys(p)?;
    }
    if spec.rootfs.is_some() && c.read_only {
        p.push(Op::SetAttr {
            target: cstring("/")?,
            recursive: false,
            set: libc::MOUNT_ATTR_RDONLY,
            clr: 0,
        });
    }
    let workdir = spec.workdir.as_deref().unwrap_or(Path::new("/"));
    p.push(Op::Chdir(path_cstring(workdir)?));
    crate::confine::push(p, c)
}

/// Step 2 (see the module doc).
fn take_sources(
    p: &mut Plan,
    spec: &ProcessSpec,
    console: Option<&Path>,
    handover: Handover,
) -> Result<Sources, RuntimeError> {
    let etc_src = [&spec.etc.hosts, &spec.etc.hostname, &spec.etc.resolv_conf];
    let mut etc = Vec::with_capacity(3);
    for ((target, mandatory), src) in ETC.into_iter().zip(etc_src) {
        let slot = match handover {
            Handover::Now => {
                let canon = std::fs::canonicalize(src)
                    .map_err(|e| RuntimeError::path_io("resolve etc file", src, &e))?;
                p.clone_tree(&canon, false, 0)?
            }
            // Written by the engine once the network exists: the parent
            // sends copies at the start, in this order.
            Handover::Later(_) => p.reserve(src)?,
        };
        etc.push((target, slot, mandatory));
    }
    let privileged = spec.confinement.privileged;
    let dev = DevSources::take(p, privileged, spec.rootfs.is_some(), console)?;
    let mut volumes = Vec::with_capacity(spec.mounts.len());
    for m in &spec.mounts {
        let source = std::fs::canonicalize(&m.source)
            .map_err(|e| RuntimeError::path_io("resolve mount source", &m.source, &e))?;
        // Read-only when asked; never a device node for a confined
        // container (see crate::dev).
        let mut set = if privileged {
            0
        } else {
            libc::MOUNT_ATTR_NODEV
        };
        if m.read_only {
            set |= libc::MOUNT_ATTR_RDONLY;
        }
        let slot = p.clone_tree(&source, true, set)?;
        volumes.push((m.target.clone(), slot, source.is_dir()));
    }
    Ok(Sources { etc, dev, volumes })
}

/// Checks the `-v` mounts before anything is created: absolute paths, no
/// `..`, an existing source, and (without a rootfs) a target that exists
/// in the host view or lies in one of its fresh tmpfs directories (berth
/// never creates mount points on the host's disk).
pub fn validate_mounts(
    rootfs: Option<&Path>,
    privileged: bool,
    hidden: &[PathBuf],
    mounts: &[BindMount],
) -> Result<(), RuntimeError> {
    let bad = |m: &BindMount, why: &str| {
        Err(RuntimeError::InvalidSpec(format!(
            "invalid mount {}:{}: {why}",
            m.source.display(),
            m.target.display()
        )))
    };
    if mounts.is_empty() {
        return Ok(());
    }
    let secrets = (rootfs.is_none() && !privileged).then(|| Secrets::scan(hidden));
    for m in mounts {
        for (what, path) in [("source", &m.source), ("target", &m.target)] {
            if !path.is_absolute() {
                return bad(m, &format!("the {what} must be an absolute path"));
            }
            if path
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                return bad(m, &format!("the {what} must not contain '..'"));
            }
        }
        if m.target == Path::new("/") {
            return bad(m, "the target cannot be /");
        }
        if !m.source.exists() {
            return bad(m, "the source does not exist (berth does not create it)");
        }
        if rootfs.is_none() && host_target(&m.target, secrets.as_ref()).is_none() {
            return bad(
                m,
                "the target does not exist in the host's (read-only) file system view; \
                 use a path that exists, or one under /tmp, /run or /var/tmp",
            );
        }
    }
    Ok(())
}

/// Where a `-v` target goes in the host view: `(path, must be created)`,
/// or `None` if it is missing outside the view's fresh tmpfs directories.
fn host_target(target: &Path, secrets: Option<&Secrets>) -> Option<(PathBuf, bool)> {
    let fresh = |p: &Path| secrets.is_some_and(|s| s.in_fresh_tmpfs(p));
    if let Ok(canon) = std::fs::canonicalize(target) {
        let create = fresh(&canon);
        return Some((canon, create));
    }
    let secrets = secrets?;
    // Resolve the longest existing ancestor on the host.
    let mut base = target.to_path_buf();
    let mut rest = Vec::new();
    while !base.exists() {
        rest.push(base.file_name()?.to_owned());
        base = base.parent()?.to_path_buf();
    }
    let mut path = std::fs::canonicalize(&base).ok()?;
    path.extend(rest.iter().rev());
    secrets.in_fresh_tmpfs(&path).then_some((path, true))
}

/// Creates the mount point for a directory (`dir`) or a file at `target`.
fn make_mount_point(p: &mut Plan, target: &Path, dir: bool) -> Result<(), RuntimeError> {
    if dir {
        return p.mkdir_all(target);
    }
    if let Some(parent) = target.parent() {
        p.mkdir_all(parent)?;
    }
    p.push(Op::Touch(path_cstring(target)?));
    Ok(())
}

/// `-v` mounts inside a rootfs (after the pivot: resolved in the rootfs).
fn volumes_in_rootfs(p: &mut Plan, vols: &[(PathBuf, Slot, bool)]) -> Result<(), RuntimeError> {
    for (target, slot, dir) in vols {
        make_mount_point(p, target, *dir)?;
        p.attach(slot, target)?;
    }
    Ok(())
}

/// `-v` mounts in the host view (see [`validate_mounts`]).
fn volumes_on_host(
    p: &mut Plan,
    vols: &[(PathBuf, Slot, bool)],
    secrets: Option<&Secrets>,
) -> Result<(), RuntimeError> {
    for (target, slot, dir) in vols {
        let Some((path, create)) = host_target(target, secrets) else {
            let msg = format!("mount target {} is missing", target.display());
            return Err(RuntimeError::InvalidSpec(msg));
        };
        if create {
            make_mount_point(p, &path, *dir)?;
        }
        p.attach(slot, &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(src: &str, dst: &str) -> BindMount {
        BindMount {
            source: src.into(),
            target: dst.into(),
            read_only: false,
        }
    }

    #[test]
    fn mounts_are_validated() {
        let ok = |m: BindMount, rootfs: Option<&Path>| {
            validate_mounts(rootfs, false, &[], &[m]).map_err(|e| e.to_string())
        };
        let rootfs = Some(Path::new("/nonexistent-rootfs"));
        assert!(ok(mount("/etc", "/data"), rootfs).is_ok());
        assert!(ok(mount("/etc", "/tmp/x/y"), None).is_ok());
        assert!(ok(mount("/etc", "/etc"), None).is_ok());
        let err = ok(mount("/etc", "/no-such-dir-here"), None).unwrap_err();
        assert!(
            err.contains("/no-such-dir-here") && err.contains("/tmp"),
            "{err}"
        );
        assert!(ok(mount("etc", "/data"), rootfs)
            .unwrap_err()
            .contains("absolute"));
        assert!(ok(mount("/etc", "data"), rootfs)
            .unwrap_err()
            .contains("absolute"));
        assert!(ok(mount("/etc", "/a/../b"), rootfs)
            .unwrap_err()
            .contains(".."));
        assert!(ok(mount("/etc", "/"), rootfs)
            .unwrap_err()
            .contains("cannot be /"));
        let err = ok(mount("/no/such/source", "/data"), rootfs).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }
}
