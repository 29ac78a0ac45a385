//! What to run: the container process description given to [`crate::spawn`]
//! and [`crate::exec`], and how its standard streams are connected.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// Host-side files bind-mounted over the container's `/etc/hosts`,
/// `/etc/hostname` and `/etc/resolv.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    /// Mounted over `/etc/hosts`.
    pub hosts: PathBuf,
    /// Mounted over `/etc/hostname`.
    pub hostname: PathBuf,
    /// Mounted over `/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
}

/// A new container: its command, environment and namespace/mount setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Command and arguments. `argv[0]` is looked up in the `PATH` of
    /// [`ProcessSpec::env`] (like `execvp`) unless it contains a `/`.
    pub argv: Vec<String>,
    /// The complete environment of the container process.
    pub env: Vec<(String, String)>,
    /// Hostname set in the container's new UTS namespace.
    pub hostname: String,
    /// NIS domain name set in the same UTS namespace (`--domainname`;
    /// empty: none).
    pub domainname: String,
    /// Bind-mounted network namespace file to join (e.g. `/run/berth/netns/<id>`).
    pub netns: PathBuf,
    /// Files mounted over the container's `/etc/{hosts,hostname,resolv.conf}`.
    pub etc: EtcFiles,
    /// If set, the container's root directory (`pivot_root` into it);
    /// otherwise the container shares the host's file system view.
    pub rootfs: Option<PathBuf>,
    /// Working directory of the process (default `/`).
    pub workdir: Option<PathBuf>,
    /// Capabilities, `no_new_privs`, seccomp and the file system view.
    pub confinement: Confinement,
    /// Host directories or files bind-mounted into the container (`-v`).
    pub mounts: Vec<BindMount>,
}

/// How a container's processes are confined. [`Confinement::default`] is
/// Docker's default confinement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    /// The capabilities kept (bit N = capability N) in the bounding,
    /// effective, permitted and inheritable sets; the ambient set is cleared.
    pub capabilities: u64,
    /// Set `no_new_privs` (setuid bits and file capabilities stop granting
    /// privileges).
    pub no_new_privs: bool,
    /// Install berth's default seccomp filter (`seccomp=unconfined`: no).
    pub seccomp: bool,
    /// Docker's `--privileged`: no masked paths, a writable `/sys`, the
    /// host's `/dev`, and without a rootfs the host's files writable.
    pub privileged: bool,
    /// Mount the rootfs read-only (`--read-only`; without a rootfs the
    /// host's files are read-only anyway).
    pub read_only: bool,
    /// More host paths hidden from a container without a rootfs (berth's
    /// state root), besides the fixed list of secrets.
    pub hidden: Vec<PathBuf>,
}

impl Default for Confinement {
    fn default() -> Self {
        Confinement {
            capabilities: crate::caps::docker_default_mask(),
            no_new_privs: true,
            seccomp: true,
            privileged: false,
            read_only: false,
            hidden: Vec::new(),
        }
    }
}

impl Confinement {
    /// Docker's `--privileged`: every capability, no seccomp filter, no
    /// `no_new_privs`, nothing masked.
    pub fn privileged() -> Self {
        Confinement {
            capabilities: crate::caps::all_mask(),
            no_new_privs: false,
            seccomp: false,
            privileged: true,
            read_only: false,
            hidden: Vec::new(),
        }
    }
}

/// A bind mount of a host path into the container (`-v HOST:CTR[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// Absolute host path (taken with its submounts).
    pub source: PathBuf,
    /// Absolute path inside the container (created if missing; inside a
    /// rootfs it is resolved in the rootfs, never on the host).
    pub target: PathBuf,
    /// Read-only mount.
    pub read_only: bool,
}

/// A process to start inside a running container (`berth exec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// Command and arguments; `argv[0]` is looked up in the `PATH` of `env`.
    pub argv: Vec<String>,
    /// The complete environment of the new process.
    pub env: Vec<(String, String)>,
    /// Working directory inside the container (default `/`).
    pub workdir: Option<PathBuf>,
    /// The container's confinement: a process joining it gets the same
    /// capabilities, `no_new_privs` and seccomp filter as its PID 1 (the
    /// mount-related fields are unused: it joins the container's mounts).
    pub confinement: Confinement,
}

/// Where one standard stream of the container process goes.
#[derive(Debug, Default)]
pub enum Stdio {
    /// The caller's own stream (same fd number).
    #[default]
    Inherit,
    /// `/dev/null` (opened on the host before the process is started).
    Null,
    /// This descriptor: a pipe, a log file, a socket, ... It is duplicated
    /// onto the stream; the caller's copy is closed when the call returns.
    /// Use `try_clone` to pass the same file as stdout and stderr.
    Fd(OwnedFd),
}

/// How the container process's stdin, stdout and stderr are set up.
#[derive(Debug)]
pub enum ContainerIo {
    /// Three independent streams, no controlling terminal.
    Streams {
        /// Standard input (`-i` passes the caller's; otherwise use `Null`).
        stdin: Stdio,
        /// Standard output.
        stdout: Stdio,
        /// Standard error.
        stderr: Stdio,
    },
    /// A pseudo-terminal slave (see [`crate::pty::Pty`]): it becomes the
    /// process's stdin, stdout, stderr and controlling terminal.
    Tty(OwnedFd),
}

impl ContainerIo {
    /// The caller's stdin, stdout and stderr.
    pub fn inherit() -> Self {
        ContainerIo::Streams {
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
        }
    }

    /// stdin from `/dev/null`, the caller's stdout and stderr (`docker run`
    /// without `-i`).
    pub fn no_stdin() -> Self {
        ContainerIo::Streams {
            stdin: Stdio::Null,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
        }
    }
}
