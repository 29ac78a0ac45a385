//! Low-level namespace plumbing: namespace identities, the holder process
//! that creates (and keeps alive) a lab's network and mount namespaces, and
//! the `pre_exec` hook that moves a freshly forked child into them.
//!
//! The calling process never changes namespace: only forked children do,
//! between `fork` and `exec`, with raw system calls (no allocation, no locks),
//! so the hooks are safe in a multi-threaded test process.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::LabError;

/// Identity of a namespace: device and inode of its nsfs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId {
    /// Device of the nsfs file system (the same for every namespace).
    pub dev: u64,
    /// Inode number: what `readlink /proc/PID/ns/net` shows as `net:[INODE]`.
    pub ino: u64,
}

impl NsId {
    /// Identity of the namespace file at `path` (e.g. `/proc/1/ns/net`).
    pub fn of_path(path: &Path) -> Result<NsId, LabError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| LabError::io(format!("stat {}", path.display()), e))?;
        Ok(NsId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Identity of an open namespace file.
    fn of_file(file: &File, what: &str) -> Result<NsId, LabError> {
        let meta = file
            .metadata()
            .map_err(|e| LabError::io(format!("fstat {what}"), e))?;
        Ok(NsId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// Inode numbers the kernel reserves for the initial namespaces
/// (`PROC_NET_INIT_INO`, `PROC_MNT_INIT_INO`); dynamic ones are higher.
const INIT_NET_INO: u64 = 0xEFFF_FFF9;
const INIT_MNT_INO: u64 = 0xEFFF_FFF8;

/// Inodes of the host's `kind` ("net" or "mnt") namespace, labelled: those of
/// PID 1 and of kthreadd (PID 2) when readable (PID 1's may not be, when it
/// holds capabilities the caller lacks), and the kernel's fixed inode
/// number for the initial namespace.
pub(crate) fn host_inodes(kind: &str) -> Vec<(String, u64)> {
    let mut refs = Vec::new();
    for pid in [1, 2] {
        if let Ok(id) = NsId::of_path(Path::new(&format!("/proc/{pid}/ns/{kind}"))) {
            refs.push((format!("/proc/{pid}"), id.ino));
        }
    }
    let init = if kind == "net" {
        INIT_NET_INO
    } else {
        INIT_MNT_INO
    };
    refs.push((format!("the initial {kind} namespace"), init));
    refs
}

/// Open handles on a lab's network and mount namespaces.
#[derive(Debug)]
pub(crate) struct NsFds {
    net: OwnedFd,
    mnt: OwnedFd,
    /// Identity of the network namespace.
    pub net_id: NsId,
    /// Identity of the mount namespace.
    pub mnt_id: NsId,
}

impl NsFds {
    /// Opens `/proc/PID/ns/{net,mnt}` of `pid` and checks that they are
    /// neither the namespaces of PID 1 nor those of the calling process.
    pub(crate) fn open_isolated(pid: u32) -> Result<NsFds, LabError> {
        let open = |kind: &str| -> Result<(File, NsId), LabError> {
            let path = format!("/proc/{pid}/ns/{kind}");
            let file = File::open(&path).map_err(|e| LabError::io(format!("open {path}"), e))?;
            let id = NsId::of_file(&file, &path)?;
            Ok((file, id))
        };
        let (net, net_id) = open("net")?;
        let (mnt, mnt_id) = open("mnt")?;
        for (kind, id) in [("net", net_id), ("mnt", mnt_id)] {
            let mine = NsId::of_path(Path::new(&format!("/proc/self/ns/{kind}")))?;
            let mut refs = host_inodes(kind);
            refs.push(("the calling process".into(), mine.ino));
            if let Some((who, _)) = refs.iter().find(|(_, ino)| *ino == id.ino) {
                return Err(LabError::NotIsolated(format!(
                    "the lab's {kind} namespace (inode {}) is the one of {who}",
                    id.ino
                )));
            }
        }
        Ok(NsFds {
            net: net.into(),
            mnt: mnt.into(),
            net_id,
            mnt_id,
        })
    }

    /// Raw descriptors `(net, mnt)` for the `pre_exec` hook.
    pub(crate) fn raw(&self) -> (RawFd, RawFd) {
        (self.net.as_raw_fd(), self.mnt.as_raw_fd())
    }
}

/// Turns a libc return value into an `io::Result` (no allocation).
fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `mount(2)` with C strings; `None` is a null pointer.
fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a valid NUL-terminated string.
    check(unsafe {
        libc::mount(
            ptr(src),
            target.as_ptr(),
            ptr(fstype),
            flags,
            ptr(data).cast(),
        )
    })
}

/// Runs in the holder between fork and exec: new network and mount
/// namespaces, everything made private, a fresh tmpfs on `/run` and a
/// fresh sysfs on `/sys` (so `/sys/class/net` shows the lab's links).
fn enter_fresh_namespaces() -> io::Result<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) })?;
    mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    let nosuid_nodev = libc::MS_NOSUID | libc::MS_NODEV;
    mount(
        Some(c"tmpfs"),
        c"/run",
        Some(c"tmpfs"),
        nosuid_nodev,
        Some(c"mode=0755"),
    )?;
    remount_sysfs();
    Ok(())
}

/// Best effort: mounts a sysfs of the new network namespace over `/sys`,
/// carrying the cgroup mounts of the old `/sys/fs/cgroup` over to it.
fn remount_sysfs() {
    // SAFETY: plain system call on a static path.
    let parked = unsafe { libc::mkdir(c"/run/.berth-lab-cgroup".as_ptr(), 0o700) } == 0
        && mount(
            Some(c"/sys/fs/cgroup"),
            c"/run/.berth-lab-cgroup",
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .is_ok();
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if mount(Some(c"sysfs"), c"/sys", Some(c"sysfs"), flags, None).is_err() {
        return;
    }
    if parked {
        let _ = mount(
            Some(c"/run/.berth-lab-cgroup"),
            c"/sys/fs/cgroup",
            None,
            libc::MS_MOVE,
            None,
        );
        // SAFETY: plain system call on a static path.
        unsafe { libc::rmdir(c"/run/.berth-lab-cgroup".as_ptr()) };
    }
}

/// Starts the holder: `cat` reading a pipe whose write end only the lab
/// keeps, living in fresh namespaces. It exits by itself when the lab (or the
/// whole calling process) goes away and the pipe closes.
pub(crate) fn spawn_holder() -> Result<Child, LabError> {
    let mut cmd = Command::new("cat");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // SAFETY: the hook only makes raw system calls (async-signal-safe).
    unsafe { cmd.pre_exec(enter_fresh_namespaces) };
    cmd.spawn().map_err(|source| LabError::Spawn {
        what: "lab holder (cat in new net+mount namespaces)".into(),
        source,
    })
}

/// Runs in a child between fork and exec: joins the lab's network and mount
/// namespaces and returns to the same working directory path (joining a
/// mount namespace resets it to `/`).
pub(crate) fn enter_lab(net: RawFd, mnt: RawFd) -> io::Result<()> {
    let mut cwd = [0u8; 4096];
    // SAFETY: the buffer is valid for its length; the syscall writes a
    // NUL-terminated path into it and never allocates.
    let got = unsafe { libc::syscall(libc::SYS_getcwd, cwd.as_mut_ptr(), cwd.len()) };
    // SAFETY: plain system calls on descriptors the lab keeps open.
    check(unsafe { libc::setns(net, libc::CLONE_NEWNET) })?;
    check(unsafe { libc::setns(mnt, libc::CLONE_NEWNS) })?;
    if got > 0 {
        // SAFETY: `cwd` holds a NUL-terminated path. Failure leaves us in `/`.
        unsafe { libc::chdir(cwd.as_ptr().cast()) };
    }
    Ok(())
}

/// Runs in a child between fork and exec: restores default handling of
/// SIGINT and SIGTERM (ignored dispositions survive `exec`).
pub(crate) fn default_signals() -> io::Result<()> {
    // SAFETY: `signal` is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
    Ok(())
}
