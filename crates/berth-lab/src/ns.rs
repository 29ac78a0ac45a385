//! Low-level namespace plumbing: namespace identities, the holder process
//! that creates (and keeps alive) a lab's network, mount and PID namespaces
//! (see `pidns.rs`), and the `pre_exec` hook that moves a freshly forked
//! child into them.
//!
//! The calling process never changes namespace: only forked children do,
//! between `fork` and `exec`, with raw system calls (no allocation, no locks),
//! so the hooks are safe in a multi-threaded test process.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::pidns::{self, check};
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
/// (`PROC_NET_INIT_INO`, `PROC_MNT_INIT_INO`, `PROC_PID_INIT_INO`);
/// dynamic ones are higher.
const INIT_NET_INO: u64 = 0xEFFF_FFF9;
const INIT_MNT_INO: u64 = 0xEFFF_FFF8;
const INIT_PID_INO: u64 = 0xEFFF_FFFC;

/// The name (`/proc/PID/comm`) of a lab's init.
pub(crate) const INIT_COMM: &str = "berth-lab-init";

/// Inodes of the host's `kind` ("net", "mnt" or "pid") namespace, labelled:
/// those of PID 1 and of kthreadd (PID 2) when readable (PID 1's may not
/// be, when it holds capabilities the caller lacks) — unless PID 1 is a
/// lab's init, whose namespaces are the lab's — and the kernel's fixed
/// inode number for the initial namespace.
pub(crate) fn host_inodes(kind: &str) -> Vec<(String, u64)> {
    let mut refs = Vec::new();
    let in_lab = std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim() == INIT_COMM);
    for pid in [1, 2].into_iter().filter(|_| !in_lab) {
        if let Ok(id) = NsId::of_path(Path::new(&format!("/proc/{pid}/ns/{kind}"))) {
            refs.push((format!("/proc/{pid}"), id.ino));
        }
    }
    let init = match kind {
        "net" => INIT_NET_INO,
        "pid" => INIT_PID_INO,
        _ => INIT_MNT_INO,
    };
    refs.push((format!("the initial {kind} namespace"), init));
    refs
}

/// Open handles on a lab's network, mount and PID namespaces.
#[derive(Debug)]
pub(crate) struct NsFds {
    net: OwnedFd,
    mnt: OwnedFd,
    pid: OwnedFd,
    /// Identity of the network namespace.
    pub net_id: NsId,
    /// Identity of the mount namespace.
    pub mnt_id: NsId,
    /// Identity of the PID namespace.
    pub pid_id: NsId,
}

impl NsFds {
    /// Opens `/proc/PID/ns/{net,mnt,pid_for_children}` of the holder `pid`
    /// and checks that they are neither the namespaces of PID 1 nor those of
    /// the calling process.
    pub(crate) fn open_isolated(pid: u32) -> Result<NsFds, LabError> {
        let open = |kind: &str| -> Result<(File, NsId), LabError> {
            let path = format!("/proc/{pid}/ns/{kind}");
            let file = File::open(&path).map_err(|e| LabError::io(format!("open {path}"), e))?;
            let id = NsId::of_file(&file, &path)?;
            Ok((file, id))
        };
        let (net, net_id) = open("net")?;
        let (mnt, mnt_id) = open("mnt")?;
        let (pid_ns, pid_id) = open("pid_for_children")?;
        for (kind, id) in [("net", net_id), ("mnt", mnt_id), ("pid", pid_id)] {
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
            pid: pid_ns.into(),
            net_id,
            mnt_id,
            pid_id,
        })
    }

    /// Raw descriptors `(net, mnt, pid)` for the `pre_exec` hook.
    pub(crate) fn raw(&self) -> (RawFd, RawFd, RawFd) {
        (
            self.net.as_raw_fd(),
            self.mnt.as_raw_fd(),
            self.pid.as_raw_fd(),
        )
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

/// Runs in the holder once it has its new namespaces: everything made
/// private, a fresh tmpfs on `/run` and a fresh sysfs on `/sys` (so
/// `/sys/class/net` shows the lab's links). The lab's init then mounts the
/// lab's `/proc`.
fn lab_mounts() -> io::Result<()> {
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

/// The process that holds a lab's namespaces (see `pidns.rs`): the lab
/// keeps the write end of its lifeline; closing it ends the lab's init, and
/// with it every process of the lab.
#[derive(Debug)]
pub(crate) struct Holder {
    /// PID of the holder (in the caller's PID namespace): its `/proc` entry
    /// shows the lab's network and mount namespaces.
    pub pid: libc::pid_t,
    /// PID of the lab's init, as the caller sees it.
    pub init: u32,
    /// Write end of the pipe the init reads; nothing is ever written.
    lifeline: Option<OwnedFd>,
}

impl Holder {
    /// Ends the lab: closes the lifeline (the init exits, the kernel kills
    /// every process of the lab's PID namespace and waits for them), then
    /// reaps the holder, which exits once the init is gone.
    pub(crate) fn end(&mut self) -> io::Result<()> {
        self.lifeline = None;
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child.
            let got = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if got == self.pid {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// A pipe whose both ends are close-on-exec.
fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors were just created and are owned here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Forks the holder (which makes the lab's namespaces and forks its init)
/// and waits until the init is ready or something failed.
pub(crate) fn spawn_holder() -> Result<Holder, LabError> {
    let io_err = |what: &str, e: io::Error| LabError::io(format!("lab holder: {what}"), e);
    let (life_r, life_w) = cloexec_pipe().map_err(|e| io_err("pipe", e))?;
    let (rep_r, rep_w) = cloexec_pipe().map_err(|e| io_err("pipe", e))?;
    // SAFETY: the child only makes raw system calls (`pidns::holder_main`).
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(io_err("fork", io::Error::last_os_error()));
    }
    if pid == 0 {
        pidns::holder_main(life_r.as_raw_fd(), rep_w.as_raw_fd(), lab_mounts);
    }
    drop((life_r, rep_w));
    let mut holder = Holder {
        pid,
        init: 0,
        lifeline: Some(life_w),
    };
    let mut bytes = Vec::new();
    let read = File::from(rep_r).read_to_end(&mut bytes);
    let (init, ready, error) = pidns::decode_reports(&bytes);
    let failure = match (read, error, init) {
        (Err(e), _, _) => Some(io_err("read its reports", e)),
        (_, Some((step, errno)), _) => Some(LabError::io(
            format!(
                "lab holder: {}",
                pidns::STEPS.get(step).unwrap_or(&"set up")
            ),
            io::Error::from_raw_os_error(errno),
        )),
        (_, None, Some(init)) if ready => {
            holder.init = init;
            None
        }
        _ => Some(io_err(
            "start",
            io::Error::other("it exited before its init was ready"),
        )),
    };
    match failure {
        None => Ok(holder),
        Some(e) => {
            let _ = holder.end();
            Err(e)
        }
    }
}

/// Runs in a child between fork and exec: joins the lab's network and mount
/// namespaces, returns to the same working directory path (joining a mount
/// namespace resets it to `/`), then joins the lab's PID namespace and
/// forks into it (`pidns::fork_into_pid_ns`): only the new child returns,
/// to exec the program as a process of the lab.
pub(crate) fn enter_lab(net: RawFd, mnt: RawFd, pid: RawFd) -> io::Result<()> {
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
    // SAFETY: plain system call on a descriptor the lab keeps open.
    check(unsafe { libc::setns(pid, libc::CLONE_NEWPID) })?;
    pidns::fork_into_pid_ns()
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
