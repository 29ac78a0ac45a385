//! Names for containers' namespaces in `/run/netns`, where `ip netns` looks.
//!
//! berth pins each container's namespace under its own runtime dir (see
//! [`super::netns`]). So that `ip netns ls` and `ip netns exec NAME …` (the
//! tools of the article berth started from) work on containers too, berth
//! also gives each running container's namespace an entry
//! `/run/netns/<container name>`: a bind mount of berth's pin, exactly what
//! `ip netns add` makes for its own namespaces.
//!
//! **Ownership.** Before mounting, berth creates the entry as a regular file
//! holding a marker ([`Owner::marker`]: berth's state root and the
//! container id), then bind-mounts the pin over it. The marker stays
//! underneath the mount, so whose entry it is can be read at any time — even
//! when berth's pin is already gone (a crash, a lost runtime dir) — by
//! looking at `/run/netns` through a detached, non-recursive clone of its
//! mount (`open_tree(2)`), which shows the files without the mounts on
//! them. An entry without berth's marker (made by `ip netns add`, another
//! tool, or another berth root) is never touched.
//!
//! Every operation is idempotent, so plan steps can be re-applied by crash
//! recovery in any state between their syscalls.

use crate::error::{Error, Result};
use nix::mount::{mount, MsFlags};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// The entry of namespace name `name` in [`NETNS_DIR`].
pub fn entry(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

pub use crate::plan::NameOwner as Owner;

/// What [`name_entry`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// The entry now names the pinned namespace (made now or before).
    Named,
    /// The name belongs to something berth does not own: left alone.
    Taken,
}

/// Gives the namespace pinned at `pin` the entry `link` owned by `owner`.
/// A name taken by anything else is left alone ([`Naming::Taken`]).
pub fn name_entry(pin: &Path, link: &Path, owner: &Owner) -> Result<Naming> {
    if let Some(dir) = link.parent() {
        prepare_dir(dir)?;
    }
    match create_marker(link, owner) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if read_owner(link).as_ref() != Some(owner) {
                return Ok(Naming::Taken);
            }
            if same_namespace(link, pin) {
                return Ok(Naming::Named);
            }
            // Ours but not (or no longer) on this namespace: a crash
            // between creating and mounting, or a stale mount.
            super::anchor::unmount_all(link)?;
        }
        Err(e) => {
            return Err(Error::kernel(format!(
                "cannot create {}: {e}",
                link.display()
            )))
        }
    }
    // On the anchor, like the pin itself: new mount namespaces copy neither.
    super::anchor::under(pin, link);
    if let Err(e) = mount(
        Some(pin),
        link,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    ) {
        let _ = super::anchor::unmount_all(link);
        let _ = std::fs::remove_file(link);
        return Err(Error::kernel(format!(
            "cannot bind-mount {} on {}: {e}",
            pin.display(),
            link.display()
        )));
    }
    Ok(Naming::Named)
}

/// [`name_entry`] for a plan step: naming is a convenience for the standard
/// tools, so a taken name or a failure is a warning, never a failed
/// container start.
pub fn name_or_warn(pin: &Path, link: &Path, owner: &Owner) {
    let name = link.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = name.unwrap_or_default();
    match name_entry(pin, link, owner) {
        Ok(Naming::Named) => {}
        Ok(Naming::Taken) => tracing::warn!("{} already names a namespace berth does not own: left alone, so 'ip netns exec {name}' does not enter this container (use 'berth exec')",
            link.display()
        ),
        Err(e) => tracing::warn!("cannot name the namespace of container {name} for 'ip netns': {e}"
        ),
    }
}

/// Removes entry `link` if `owner` owns it; returns whether it did. Missing
/// or foreign entries are fine (nothing to do).
pub fn unname(link: &Path, owner: &Owner) -> Result<bool> {
    if std::fs::symlink_metadata(link).is_err() || read_owner(link).as_ref() != Some(owner) {
        return Ok(false);
    }
    super::anchor::unmount_all(link)?;
    match std::fs::remove_file(link) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::kernel(format!(
            "cannot remove {}: {e}",
            link.display()
        ))),
    }
}

/// Makes [`NETNS_DIR`] name exactly `running` among the entries of the
/// berth instance whose state root is `root`: removes that instance's
/// entries whose container is missing, renamed or not running, and names
/// the running containers that have no entry. Returns what it changed,
/// e.g. `removed web`, `named db`.
pub fn sync(root: &str, running: &[super::NetnsName]) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    let dir = Path::new(NETNS_DIR);
    for (name, owner) in &list(dir) {
        let Some(owner) = owner.as_ref().filter(|o| o.root == root) else {
            continue;
        };
        let link = dir.join(name);
        let keep = running
            .iter()
            .any(|r| &r.owner == owner && &r.name == name && same_namespace(&link, &r.pin));
        if !keep && unname(&link, owner)? {
            changed.push(format!("removed {name}"));
        }
    }
    for r in running {
        let link = entry(&r.name);
        if super::netns::is_pinned(&r.pin) && !same_namespace(&link, &r.pin) {
            name_or_warn(&r.pin, &link, &r.owner);
            if same_namespace(&link, &r.pin) {
                changed.push(format!("named {}", r.name));
            }
        }
    }
    Ok(changed)
}

/// Every entry of `dir` with its owner, `None` for entries berth does not
/// own. A missing directory has no entries.
pub fn list(dir: &Path) -> Vec<(String, Option<Owner>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Option<Owner>)> = rd
        .filter_map(|e| e.ok())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let owner = read_owner(&e.path());
            (name, owner)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// True when `a` and `b` are both namespace files of the same namespace.
pub fn same_namespace(a: &Path, b: &Path) -> bool {
    match (ns_identity(a), ns_identity(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// `(device, inode)` of the namespace mounted at `path`, if it is one.
pub fn ns_identity(path: &Path) -> Option<(u64, u64)> {
    if !super::netns::is_pinned(path) {
        return None;
    }
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Makes `dir` exist and, like `ip netns add`, a shared mount point, so
/// that entries made or removed here propagate to mount namespaces that
/// copied it as slaves.
///
/// Only `dir` itself is made shared, not recursively as `ip netns add`
/// does: an entry mounted under a shared mount point is shared already,
/// and a recursive change walks every entry (with 2,700 containers, ~5% of
/// a `run -d`'s CPU went to it, growing with each container, issue 13) and
/// would change the propagation of entries that are not berth's. Only when
/// `dir` is not a mount point yet is it bound on itself recursively and
/// made shared with what it holds, once.
fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::kernel(format!("cannot create {}: {e}", dir.display())))?;
    let shared = MsFlags::MS_SHARED;
    if mount(None::<&str>, dir, None::<&str>, shared, None::<&str>).is_ok() {
        return Ok(());
    }
    // Not a mount point yet (EINVAL): make it one, as ip-netns does.
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    let all = shared | MsFlags::MS_REC;
    mount(Some(dir), dir, None::<&str>, bind, None::<&str>)
        .and_then(|()| mount(None::<&str>, dir, None::<&str>, all, None::<&str>))
        .map_err(|e| Error::kernel(format!("cannot make {} a shared mount: {e}", dir.display())))
}

fn create_marker(link: &Path, owner: &Owner) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(link)?;
    f.write_all(owner.marker().as_bytes())
}

/// The owner recorded in the file under whatever is mounted on `link`.
pub fn read_owner(link: &Path) -> Option<Owner> {
    let text = if super::anchor::is_nsfs(link) {
        read_underneath(link)?
    } else {
        let mut s = String::new();
        File::open(link)
            .ok()?
            .take(4096)
            .read_to_string(&mut s)
            .ok()?;
        s
    };
    Owner::parse(&text)
}

/// Reads the file `link` as it is under the mounts on it: through a
/// detached clone of its directory's mount without submounts.
fn read_underneath(link: &Path) -> Option<String> {
    let dir = link.parent()?;
    let name = link.file_name()?;
    let tree = open_tree_clone(dir)?;
    let c_name = std::ffi::CString::new(name.as_encoded_bytes()).ok()?;
    // SAFETY: openat on a valid directory fd with a NUL-terminated name;
    // the returned fd is owned by the File below.
    let fd = unsafe {
        libc::openat(
            tree.as_raw_fd(),
            c_name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd was just returned by openat and is owned by nothing else.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut s = String::new();
    (&mut file).take(4096).read_to_string(&mut s).ok()?;
    Some(s)
}

/// `open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE)`: a detached copy of the
/// mount at `dir` without its submounts, freed when the fd is closed.
fn open_tree_clone(dir: &Path) -> Option<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    // SAFETY: open_tree takes a dirfd, a NUL-terminated path and flags and
    // returns a new fd or -1; nothing else is touched.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the fd was just returned by the kernel and is ours alone.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_reject_foreign_files() {
        let o = Owner {
            root: "/var/lib/berth".into(),
            container: "ab".repeat(32),
        };
        assert_eq!(Owner::parse(&o.marker()), Some(o));
        assert_eq!(Owner::parse(""), None);
        assert_eq!(Owner::parse("berth netns name v1\nroot=/x\n"), None);
        assert_eq!(Owner::parse("something else\nroot=/x\ncontainer=y\n"), None);
    }

    #[test]
    fn plain_files_are_read_directly() {
        let dir = std::env::temp_dir().join(format!("berth-nsname-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let o = Owner {
            root: "/r".into(),
            container: "c1".into(),
        };
        let link = dir.join("web");
        create_marker(&link, &o).unwrap();
        assert_eq!(read_owner(&link), Some(o.clone()));
        let other = Owner {
            root: "/r".into(),
            container: "c2".into(),
        };
        assert!(!unname(&link, &other).unwrap(), "not c2's entry");
        assert!(link.exists());
        assert!(unname(&link, &o).unwrap());
        assert!(!link.exists());
        assert_eq!(list(&dir), Vec::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
