//! Test sandbox and helpers shared by the integration tests.
//!
//! Every kernel-touching test runs in a re-executed copy of the test binary
//! (filtered to that one test) which starts in fresh network, mount, UTS and
//! IPC namespaces (`unshare` in `pre_exec`). Before doing anything, the copy
//! checks that its mount and network namespaces differ from the host's,
//! makes `/` recursively private and mounts a tmpfs on `/tmp`, where all
//! test files, network namespace files and rootfs directories are created.
//! Nothing changes in the host's namespaces or file systems.
#![allow(dead_code)]

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use berth_runtime::{
    Confinement, ContainerIo, EtcFiles, ExitStatus, ProcessSpec, RuntimeError, Stdio,
};
use nix::mount::{mount, MsFlags};

const ENV_SANDBOX: &str = "BERTH_RT_SANDBOX";
const ENV_HOST_NET: &str = "BERTH_RT_HOST_NET";
const ENV_HOST_MNT: &str = "BERTH_RT_HOST_MNT";

/// Contents of the etc files handed to containers.
pub const HOSTS: &str = "127.0.0.1\tlocalhost\n10.88.0.2\tctr-test\n";
/// Contents of the hostname file.
pub const HOSTNAME: &str = "ctr-test\n";
/// Contents of the resolv.conf file.
pub const RESOLV: &str = "nameserver 10.88.0.53\n";

/// Defines a `#[test]` whose body runs inside the sandbox.
#[macro_export]
macro_rules! sandboxed {
    ($name:ident, |$sb:ident| $body:block) => {
        #[test]
        fn $name() {
            common::sandbox(stringify!($name), |$sb: &common::Sandbox| $body);
        }
    };
}

/// Inode of a namespace file (or any file).
pub fn inode(path: impl AsRef<Path>) -> u64 {
    std::fs::metadata(path.as_ref()).unwrap().ino()
}

/// Runs `body` in a sandboxed copy of this test binary (see module doc).
pub fn sandbox(name: &str, body: impl FnOnce(&Sandbox)) {
    if std::env::var(ENV_SANDBOX).as_deref() == Ok(name) {
        body(&Sandbox::enter());
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV_SANDBOX, name)
        .env(ENV_HOST_NET, inode("/proc/self/ns/net").to_string())
        .env(ENV_HOST_MNT, inode("/proc/self/ns/mnt").to_string());
    let flags = libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
    // SAFETY: unshare is a single async-signal-safe system call.
    unsafe {
        cmd.pre_exec(move || match libc::unshare(flags) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
    let out = cmd.output().expect("re-exec test binary in sandbox");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "sandboxed test {name} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// Handle to the current sandbox.
pub struct Sandbox {
    /// Scratch directory on the sandbox's tmpfs.
    pub dir: PathBuf,
}

impl Sandbox {
    /// Checks isolation, makes mounts private and mounts the tmpfs.
    fn enter() -> Sandbox {
        let host_mnt: u64 = std::env::var(ENV_HOST_MNT).unwrap().parse().unwrap();
        let host_net: u64 = std::env::var(ENV_HOST_NET).unwrap().parse().unwrap();
        assert_ne!(
            inode("/proc/self/ns/mnt"),
            host_mnt,
            "not in a private mount ns"
        );
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .unwrap();
        assert_ne!(
            inode("/proc/self/ns/net"),
            host_net,
            "not in a private net ns"
        );
        mount(
            Some("tmpfs"),
            "/tmp",
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=1777"),
        )
        .unwrap();
        let dir = PathBuf::from("/tmp/berth-test");
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox { dir }
    }

    /// A new network namespace file with a veth pair `bt0`/`bt1` in it.
    pub fn netns(&self, name: &str) -> PathBuf {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = self.dir.join("netns");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}-{}", COUNT.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&file, "").unwrap();
        let target = file.clone();
        std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let src = "/proc/thread-self/ns/net";
            mount(
                Some(src),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .unwrap();
            // Children of this thread inherit its network namespace.
            let st = Command::new("ip")
                .args(["link", "add", "bt0", "type", "veth", "peer", "name", "bt1"])
                .status()
                .unwrap();
            assert!(st.success());
        })
        .join()
        .unwrap();
        file
    }

    /// The three etc files with [`HOSTS`], [`HOSTNAME`], [`RESOLV`].
    pub fn etc_files(&self) -> EtcFiles {
        let dir = self.dir.join("etc");
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        EtcFiles {
            hosts: write("hosts", HOSTS),
            hostname: write("hostname", HOSTNAME),
            resolv_conf: write("resolv.conf", RESOLV),
        }
    }

    /// A spec running `argv` in a new netns, with hostname `ctr-test`.
    pub fn spec(&self, argv: &[&str]) -> ProcessSpec {
        ProcessSpec {
            domainname: String::new(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![("PATH".into(), "/usr/sbin:/usr/bin:/sbin:/bin".into())],
            hostname: "ctr-test".into(),
            netns: self.netns("ctr"),
            etc: self.etc_files(),
            rootfs: None,
            workdir: None,
            confinement: Confinement::default(),
            mounts: Vec::new(),
        }
    }

    /// A busybox rootfs (`busybox --install -s` inside a chroot).
    pub fn rootfs(&self) -> PathBuf {
        let root = self.dir.join("rootfs");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
        std::fs::write(root.join("marker-file"), "rootfs\n").unwrap();
        let st = Command::new("/bin/busybox")
            .arg("chroot")
            .arg(&root)
            .args(["/bin/busybox", "--install", "-s", "/bin"])
            .status()
            .unwrap();
        assert!(st.success());
        root
    }
}

/// A pipe `(read end, write end)`.
pub fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
}

/// Streams with stdin from /dev/null and stdout+stderr into `w`.
pub fn into_pipe(w: OwnedFd) -> ContainerIo {
    ContainerIo::Streams {
        stdin: Stdio::Null,
        stdout: Stdio::Fd(w.try_clone().unwrap()),
        stderr: Stdio::Fd(w),
    }
}

/// Reads a pipe until EOF.
pub fn read_all(r: OwnedFd) -> String {
    let mut s = String::new();
    std::fs::File::from(r).read_to_string(&mut s).unwrap();
    s
}

/// Spawns `spec`, collects stdout+stderr and waits.
pub fn run(spec: &ProcessSpec) -> Result<(ExitStatus, String), RuntimeError> {
    let (r, w) = pipe();
    let mut proc = berth_runtime::spawn(spec, into_pipe(w))?;
    let out = read_all(r);
    Ok((proc.wait()?, out))
}

/// Kills (SIGKILL) and reaps a process when dropped, unless already reaped.
pub struct KillOnDrop(pub berth_runtime::Process);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.status().is_none() {
            let _ = self.0.stop(Duration::ZERO);
        }
    }
}
