//! What a confined container must not see: the host's secrets (in the
//! host's file system view) and Docker's masked and read-only `/proc` and
//! `/sys` paths.
//!
//! A masked directory gets an empty tmpfs over it, a masked file a bind of
//! `/dev/null` (Docker's way, so reading it gives nothing). Which paths
//! exist and whether they are files or directories is looked up in the
//! parent (the container's `/proc` and `/sys` belong to the same kernel);
//! the child still tolerates a `/proc` or `/sys` entry that is missing.

use std::path::{Path, PathBuf};

use crate::error::RuntimeError;
use crate::plan::{cstring, path_cstring, Op, Plan};

/// Directories of the host view that get a fresh, empty, private tmpfs.
pub(crate) const SCRATCH: [&str; 3] = ["/tmp", "/run", "/var/tmp"];
/// Host directories whose contents are hidden (an empty tmpfs).
const SECRET_DIRS: [&str; 2] = ["/root", "/home"];
/// Host files whose contents are hidden (`/dev/null` over them).
const SECRET_FILES: [&str; 4] = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
];
/// Docker's masked paths.
const MASKED: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
/// Docker's read-only paths.
const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
/// Flags of the tmpfs over a masked `/proc` or `/sys` directory.
const MASK_FLAGS: libc::c_ulong =
    libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
/// Flags of the tmpfs over a hidden host directory: empty and writable (a
/// private scratch `/root` or `/home`, as in an image), never a device.
const SECRET_DIR_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV;

/// Whether `path` is `dir` or below it.
pub(crate) fn under(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

/// The host paths hidden from a confined container without a rootfs,
/// canonical, existing, and not already covered by a scratch tmpfs or
/// another hidden directory.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Secrets {
    /// Directories (an empty tmpfs over each).
    pub(crate) dirs: Vec<PathBuf>,
    /// Files (`/dev/null` over each).
    pub(crate) files: Vec<PathBuf>,
}

impl Secrets {
    /// Looks up the fixed list, the host's SSH host keys (`/etc/ssh/*_key`)
    /// and `extra` (berth's state root) on the host.
    pub(crate) fn scan(extra: &[PathBuf]) -> Secrets {
        let mut candidates: Vec<PathBuf> = SECRET_DIRS
            .iter()
            .chain(SECRET_FILES.iter())
            .map(PathBuf::from)
            .chain(extra.iter().cloned())
            .collect();
        if let Ok(dir) = std::fs::read_dir("/etc/ssh") {
            candidates.extend(
                dir.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().ends_with("_key"))
                    .map(|e| e.path()),
            );
        }
        let found = candidates.into_iter().filter_map(|c| {
            let canon = std::fs::canonicalize(&c).ok()?;
            let is_dir = std::fs::metadata(&canon).ok()?.is_dir();
            Some((canon, is_dir))
        });
        Secrets::select(found)
    }

    /// Keeps what needs a mask of its own (pure: see [`Secrets::scan`]).
    fn select(found: impl Iterator<Item = (PathBuf, bool)>) -> Secrets {
        let mut found: Vec<(PathBuf, bool)> = found.filter(|(p, _)| p != Path::new("/")).collect();
        // Parents first, so a path below a hidden directory is dropped.
        found.sort();
        found.dedup();
        let mut s = Secrets::default();
        for (path, is_dir) in found {
            let covered = SCRATCH.iter().any(|d| under(&path, Path::new(d)))
                || s.dirs.iter().any(|d| under(&path, d));
            match (covered, is_dir) {
                (true, _) => {}
                (false, true) => s.dirs.push(path),
                (false, false) => s.files.push(path),
            }
        }
        s
    }

    /// Whether `path` lies in a fresh tmpfs of the view (a scratch
    /// directory or a hidden one), where missing mount points can be made.
    pub(crate) fn in_fresh_tmpfs(&self, path: &Path) -> bool {
        SCRATCH.iter().any(|d| under(path, Path::new(d)))
            || self.dirs.iter().any(|d| under(path, d))
    }

    /// Appends the masks (`/dev` must already be the container's).
    pub(crate) fn mount(&self, p: &mut Plan) -> Result<(), RuntimeError> {
        for dir in &self.dirs {
            let op = tmpfs_op(dir, SECRET_DIR_FLAGS, "mode=755,size=65536k")?;
            p.push(op);
        }
        for file in &self.files {
            p.push(Plan::bind_op(Path::new("/dev/null"), file)?);
        }
        Ok(())
    }
}

/// A tmpfs mount on `target`.
fn tmpfs_op(target: &Path, flags: libc::c_ulong, data: &str) -> Result<Op, RuntimeError> {
    Ok(Op::Mount {
        src: Some(cstring("tmpfs")?),
        target: path_cstring(target)?,
        fstype: Some(cstring("tmpfs")?),
        flags,
        data: Some(cstring(data)?),
    })
}

/// Appends Docker's masked and read-only `/proc` paths (after `proc` and
/// `/dev` are mounted).
pub(crate) fn proc(p: &mut Plan) -> Result<(), RuntimeError> {
    mask(p, "/proc/")?;
    for path in READ_ONLY.iter().map(Path::new) {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        p.push_unless_missing(Plan::bind_op(path, path)?);
        p.push_unless_missing(Op::SetAttr {
            target: path_cstring(path)?,
            recursive: true,
            set: libc::MOUNT_ATTR_RDONLY,
            clr: 0,
        });
    }
    Ok(())
}

/// Appends Docker's masked `/sys` paths (after `sysfs` is mounted).
pub(crate) fn sys(p: &mut Plan) -> Result<(), RuntimeError> {
    mask(p, "/sys/")
}

/// Appends masking the paths of [`MASKED`] under `prefix`.
fn mask(p: &mut Plan, prefix: &str) -> Result<(), RuntimeError> {
    for path in MASKED
        .iter()
        .filter(|m| m.starts_with(prefix))
        .map(Path::new)
    {
        match std::fs::metadata(path) {
            Err(_) => {}
            Ok(m) if m.is_dir() => p.push_unless_missing(tmpfs_op(path, MASK_FLAGS, "mode=755")?),
            Ok(_) => p.push_unless_missing(Plan::bind_op(Path::new("/dev/null"), path)?),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_drops_what_is_already_covered() {
        let found = [
            ("/home", true),
            ("/home/alice/.ssh", true),
            ("/tmp/berth-lab-x", true),
            ("/run/berth", true),
            ("/var/lib/berth", true),
            ("/etc/shadow", false),
            ("/etc/shadow", false),
            ("/", true),
        ]
        .into_iter()
        .map(|(p, d)| (PathBuf::from(p), d));
        let s = Secrets::select(found);
        assert_eq!(
            s.dirs,
            [PathBuf::from("/home"), PathBuf::from("/var/lib/berth")]
        );
        assert_eq!(s.files, [PathBuf::from("/etc/shadow")]);
        assert!(s.in_fresh_tmpfs(Path::new("/home/x")));
        assert!(s.in_fresh_tmpfs(Path::new("/tmp/www")));
        assert!(!s.in_fresh_tmpfs(Path::new("/etc/x")));
        assert!(!s.in_fresh_tmpfs(Path::new("/tmpx")));
    }
}
