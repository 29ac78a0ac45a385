//! Network namespaces kept alive by bind mounts, as `ip netns` does.
//!
//! A container's namespace is created by the calling thread, which unshares
//! into it and comes back ([`super::enter::in_new_netns`]; no thread to
//! wait for), and pinned by bind-mounting `/proc/thread-self/ns/net` onto a
//! file under berth's runtime dir. While inside, the thread sets the
//! namespace's IPv6 defaults (no router advertisements, no
//! autoconfiguration), opens a netlink socket inside it and brings `lo`
//! up, so the caller gets back a ready handle.
//!
//! The pin sits on a mount-namespace anchor ([`super::anchor`]), so that no
//! new mount namespace — a container's first of all — copies it.

use super::msg;
use super::netlink::Netlink;
use crate::error::{Error, Result};
use nix::mount::{mount, MsFlags};
use std::fs::{File, OpenOptions};
use std::path::Path;

/// A freshly created namespace: its fd and a netlink socket inside it.
pub struct NewNetns {
    /// Open fd of the namespace.
    pub file: File,
    /// A socket in the namespace.
    pub netlink: Netlink,
}

/// Creates a network namespace pinned at `path`, with `lo` up and
/// interfaces made later ignoring router advertisements (written through
/// `procfs`, which the caller may use again for the namespace's veth).
pub fn create(path: &Path, procfs: &super::sysctl::Procfs) -> Result<NewNetns> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            Error::kernel(format!(
                "cannot create namespace file {}: {e}",
                path.display()
            ))
        })?;
    // Best effort: an unanchored pin works the same, only copied.
    super::anchor::under(path, path);
    let made = super::enter::in_new_netns(|| -> Result<NewNetns> {
        mount(
            Some("/proc/thread-self/ns/net"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            Error::kernel(format!(
                "cannot bind-mount the namespace on {}: {e}",
                path.display()
            ))
        })?;
        let file = File::open("/proc/thread-self/ns/net")?;
        // Every interface made in it from now on ignores router
        // advertisements: the defaults its links inherit.
        procfs.write_all_if_present(&super::sysctl::no_router_advertisements("default"))?;
        let mut netlink = Netlink::open()?;
        netlink.run(vec![msg::link_up("lo")])?;
        Ok(NewNetns { file, netlink })
    });
    if made.is_err() {
        let _ = remove(path);
    }
    made
}

/// Opens the namespace pinned at `path`.
pub fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::kernel(format!(
            "cannot open network namespace {}: {e}",
            path.display()
        ))
    })
}

/// True when `path` is a pinned network namespace (not just a leftover
/// empty file, nor an anchor left alone by a crash).
pub fn is_pinned(path: &Path) -> bool {
    super::anchor::ns_type(path) == Some(libc::CLONE_NEWNET)
}

/// Unpins and removes the namespace file at `path`; missing is fine. The
/// kernel frees the namespace (and the container ends of its veths) once no
/// process uses it.
pub fn remove(path: &Path) -> Result<()> {
    super::anchor::unmount_all(path)?;
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::internal(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}

/// Identifies a network namespace: the device and inode of its nsfs file.
pub type NsKey = (u64, u64);

/// The key of the namespace pinned at `path`; `None` when `path` is not a
/// pinned namespace (gone already). The caller's own namespace is an
/// error: berth never ends the processes of its own.
pub fn pinned_key(path: &Path) -> Result<Option<NsKey>> {
    use std::os::unix::fs::MetadataExt;
    if !is_pinned(path) {
        return Ok(None);
    }
    let ns = std::fs::metadata(path)?;
    let key = (ns.dev(), ns.ino());
    let own = std::fs::metadata("/proc/self/ns/net")?;
    if (own.dev(), own.ino()) == key {
        return Err(Error::internal(format!(
            "{} is berth's own network namespace: refusing to end its processes",
            path.display()
        )));
    }
    Ok(Some(key))
}

/// Ends (SIGKILL) every process living in the namespace pinned at `path`
/// and waits (up to 2 s) until they are gone; returns how many there were.
/// See [`end_members`].
pub fn end_processes(path: &Path) -> Result<usize> {
    Ok(pinned_key(path)?.map_or(0, end_members))
}

/// Ends (SIGKILL) every process whose network namespace is `key` and
/// waits (up to 2 s) until they are gone; returns how many there were.
///
/// A container's pinned namespace is berth's own: any process in it
/// belongs to the container — its PID 1 when nobody recorded it, an
/// `nsenter` or `ip netns exec` — and, left alive, keeps the namespace,
/// and so the veth and the address, after the container is forgotten.
/// Processes are found by comparing `/proc/PID/ns/net` with the key (a
/// scan of every process: ~3 µs each), killed by PID, and the scan
/// repeats so that children forked meanwhile go too. Works before or after
/// the pin is removed.
pub fn end_members(key: NsKey) -> usize {
    let me = std::process::id() as i32;
    let mut ended = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let members: Vec<i32> = members_of(key).into_iter().filter(|p| *p != me).collect();
        if members.is_empty() || std::time::Instant::now() > deadline {
            return ended.len();
        }
        for pid in members {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            ended.insert(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// PIDs whose (thread group leader's) network namespace is `key`
/// (device, inode). Exited processes (zombies) have none and are skipped.
/// Reads the `net:[INODE]` link text (a tenth of the cost of a `stat`,
/// which makes the kernel build the namespace's file), then confirms each
/// candidate with a `stat`: every namespace is on the one nsfs, so the
/// inode alone identifies it.
fn members_of(key: (u64, u64)) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let want = format!("net:[{}]", key.1);
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let link = format!("/proc/{pid}/ns/net");
            std::fs::read_link(&link).is_ok_and(|l| l.as_os_str() == want.as_str())
                && std::fs::metadata(&link).is_ok_and(|m| (m.dev(), m.ino()) == key)
        })
        .collect()
}

/// The inode of the calling thread's network namespace.
pub fn current_inode() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .ok()
        .map(|m| m.ino())
}
