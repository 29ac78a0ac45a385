//! berth's container runtime: starting container processes and joining them.
//!
//! A container is a process tree in its own PID, UTS, IPC and mount
//! namespaces that joins an existing network namespace (created by berth and
//! bind-mounted at a path). This crate
//!
//! * starts one with [`spawn`] (optionally `pivot_root`ing into a rootfs),
//! * starts further processes inside a running one with [`exec`],
//! * waits for / signals / stops them ([`Process`], [`wait_attached`],
//!   [`SignalForwarder`]),
//! * handles ptys for `-t` ([`pty`]),
//! * checks liveness of processes by (pid, start time) ([`is_alive`]),
//! * confines them as Docker does by default ([`Confinement`]: capability
//!   sets, `no_new_privs`, a seccomp filter, a read-only view of the host's
//!   files with its secrets masked, masked `/proc` and `/sys` paths, a
//!   `nodev` `/dev` holding only the standard device nodes).
//!
//! The calling process never changes its own namespaces (it forks from a
//! short-lived helper thread whose `pid_for_children` is switched, see
//! `src/launch.rs`), so a supervisor can keep forking other programs
//! afterwards. Exit codes follow `docker run`:
//! [`RuntimeError::exit_code`] gives 125/126/127 for start failures,
//! [`ExitStatus::code`] the process's status or 128+signal.

pub mod caps;
mod child;
mod confine;
mod dev;
mod error;
mod fds;
mod handover;
mod hide;
mod launch;
mod liveness;
mod mounts;
mod plan;
mod prepare;
mod process;
pub mod pty;
mod seccomp;
mod session;
mod signals;
mod spec;
mod sys;
mod sys_confine;
mod view;

pub use error::RuntimeError;
pub use launch::{exec, spawn, spawn_recorded};
pub use liveness::{is_alive, process_start_time, signal_process, terminate};
pub use mounts::validate_mounts;
pub use prepare::{prepare, Prepared};
pub use process::{ExitStatus, Process};
pub use session::{wait_attached, wait_logged, LogSource, PtyRelay};
pub use signals::SignalForwarder;
pub use spec::{BindMount, Confinement, ContainerIo, EtcFiles, ExecSpec, ProcessSpec, Stdio};
