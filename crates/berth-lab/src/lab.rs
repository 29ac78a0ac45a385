//! The [`Lab`] itself: creation, running commands inside it, and teardown on
//! drop. The world built by [`Lab::new`] lives in `world.rs`.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::exec::{check_output, output_with_timeout};
use crate::ns::{self, Holder, NsFds, NsId};
use crate::{teardown, LabError};

/// How long [`Lab::sh`] and friends let a script run before killing it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A throwaway network namespace plus private mount namespace standing in for
/// "the host". See the crate documentation for the world it contains.
///
/// Every command of the lab runs in the lab's own PID namespace. Dropping
/// the lab ends its init, so the kernel kills every process of that
/// namespace (and nothing else); then its temporary `BERTH_ROOT` is removed.
#[derive(Debug)]
pub struct Lab {
    name: String,
    holder: Holder,
    ns: Arc<NsFds>,
    root: PathBuf,
    world: bool,
    /// Serialises changes to the shared LAN (see `world.rs`).
    pub(crate) lan: Mutex<bool>,
}

/// Checks a lab, namespace or host name: 1 to `max` characters of
/// `[A-Za-z0-9_-]`, not starting with `-`.
pub(crate) fn check_name(name: &str, max: usize) -> Result<(), LabError> {
    let why = if name.is_empty() || name.len() > max {
        Some("is empty or too long")
    } else if name.starts_with('-') {
        Some("must not start with '-'")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Some("may only contain ASCII letters, digits, '_' and '-'")
    } else {
        None
    };
    match why {
        Some(why) => Err(LabError::InvalidName {
            name: name.into(),
            why,
        }),
        None => Ok(()),
    }
}

/// Creates `$TMPDIR/berth-lab-NAME-XXXXXX`.
fn make_root(name: &str) -> Result<PathBuf, LabError> {
    let template = std::env::temp_dir().join(format!("berth-lab-{name}-XXXXXX"));
    nix::unistd::mkdtemp(&template)
        .map_err(|e| LabError::io(format!("create temp dir {}", template.display()), e.into()))
}

impl Lab {
    /// A bare lab: fresh network and mount namespaces, `lo` up, a private
    /// tmpfs on `/run`, a fresh sysfs on `/sys`, and a temp `BERTH_ROOT`.
    pub fn bare(name: &str) -> Result<Lab, LabError> {
        Lab::start(name, false)
    }

    /// Starts the holder, checks isolation, brings `lo` up.
    fn start(name: &str, world: bool) -> Result<Lab, LabError> {
        check_name(name, 32)?;
        let root = make_root(name)?;
        let mut holder = match ns::spawn_holder() {
            Ok(holder) => holder,
            Err(e) => {
                let _ = std::fs::remove_dir(&root);
                return Err(e);
            }
        };
        let ns = match NsFds::open_isolated(holder.pid as u32) {
            Ok(ns) => Arc::new(ns),
            Err(e) => {
                let _ = holder.end();
                let _ = std::fs::remove_dir(&root);
                return Err(e);
            }
        };
        let lab = Lab {
            name: name.into(),
            holder,
            ns,
            root,
            world,
            lan: Mutex::new(false),
        };
        lab.run_ok("bring lo up", "ip link set lo up")?;
        Ok(lab)
    }

    /// A full lab: [`Lab::bare`] plus the `outside` namespace, the uplink and
    /// the default routes described in the crate documentation.
    pub fn new(name: &str) -> Result<Lab, LabError> {
        let lab = Lab::start(name, true)?;
        lab.build_world()?;
        Ok(lab)
    }

    /// The lab's name (as given to [`Lab::new`] or [`Lab::bare`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The temporary directory exported as `BERTH_ROOT` to commands in the lab.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// PID of the holder process (as the caller sees it), for `nsenter
    /// --target PID --net --mount` from outside the lab. Processes started
    /// that way are not in the lab's PID namespace: the lab does not end
    /// them; prefer [`Lab::command`].
    pub fn holder_pid(&self) -> u32 {
        self.holder.pid as u32
    }

    /// Identity of the lab's network namespace.
    pub fn net_id(&self) -> NsId {
        self.ns.net_id
    }

    /// Identity of the lab's mount namespace.
    pub fn mnt_id(&self) -> NsId {
        self.ns.mnt_id
    }

    /// Identity of the lab's PID namespace.
    pub fn pid_id(&self) -> NsId {
        self.ns.pid_id
    }

    /// Whether this lab was built by [`Lab::new`] (has `outside`).
    pub fn has_world(&self) -> bool {
        self.world
    }

    /// A command that runs `program` inside the lab (its network, mount and
    /// PID namespaces), with `BERTH_ROOT` and `BERTH_LAB` set, and
    /// `BERTH_DNS_IDLE_EXIT=1`: berth's resolver leaves 1 s after its last
    /// name is gone (30 s by default), so a lab whose containers are gone
    /// settles to no process within a test's patience. The calling
    /// process's namespaces are untouched: only the forked child moves.
    /// The PID of the returned `Child` is a forwarder in the caller's PID
    /// namespace: signals sent to it reach the program, it exits as the
    /// program does, and killing it kills the program.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("BERTH_ROOT", &self.root)
            .env("BERTH_LAB", &self.name)
            .env("BERTH_DNS_IDLE_EXIT", "1");
        let ns = Arc::clone(&self.ns);
        // SAFETY: the hooks only make raw, async-signal-safe system calls;
        // `ns` keeps the descriptors open for as long as the command exists.
        unsafe {
            cmd.pre_exec(ns::default_signals);
            cmd.pre_exec(move || {
                let (net, mnt, pid) = ns.raw();
                ns::enter_lab(net, mnt, pid)
            });
        }
        cmd
    }

    /// A command that runs `program` in one of the lab's network namespaces:
    /// a name from the lab's `/run/netns` (via `ip netns exec`, which also
    /// gives it a matching `/sys`) or a path to a netns file as seen inside
    /// the lab (via `nsenter --net=PATH`).
    pub fn ns_command(&self, ns: &str, program: impl AsRef<OsStr>) -> Command {
        let mut cmd;
        if ns.contains('/') {
            cmd = self.command("nsenter");
            cmd.arg(format!("--net={ns}")).arg("--");
        } else {
            cmd = self.command("ip");
            cmd.args(["netns", "exec", ns]);
        }
        cmd.arg(program);
        cmd
    }

    /// Runs `sh -c script` inside the lab and returns its output, whatever
    /// the outcome (killed after [`DEFAULT_TIMEOUT`]; status 127 if it could
    /// not start). Background daemons should redirect their output.
    pub fn sh(&self, script: &str) -> Output {
        let mut cmd = self.command("sh");
        cmd.arg("-c").arg(script);
        output_with_timeout(cmd, DEFAULT_TIMEOUT)
    }

    /// Like [`Lab::sh`], but panics with the script, status, stdout and
    /// stderr if it fails; returns stdout.
    pub fn sh_ok(&self, script: &str) -> String {
        ok_or_panic(&format!("in lab {}", self.name), script, self.sh(script))
    }

    /// Runs `sh -c script` in the lab namespace `ns` (see [`Lab::ns_command`]).
    pub fn in_ns(&self, ns: &str, script: &str) -> Output {
        let mut cmd = self.ns_command(ns, "sh");
        cmd.arg("-c").arg(script);
        output_with_timeout(cmd, DEFAULT_TIMEOUT)
    }

    /// Like [`Lab::in_ns`], but panics with a readable message on failure;
    /// returns stdout.
    pub fn in_ns_ok(&self, ns: &str, script: &str) -> String {
        let whr = format!("in namespace {ns} of lab {}", self.name);
        ok_or_panic(&whr, script, self.in_ns(ns, script))
    }

    /// Runs a script in the lab, turning failure into [`LabError::Command`].
    pub(crate) fn run_ok(&self, what: &str, script: &str) -> Result<Output, LabError> {
        let what = format!("{what} (lab {}): {script}", self.name);
        check_output(what, self.sh(script))
    }

    /// Runs a script in a lab namespace, turning failure into [`LabError::Command`].
    pub(crate) fn run_ns_ok(&self, ns: &str, what: &str, script: &str) -> Result<Output, LabError> {
        let what = format!("{what} (lab {}, namespace {ns}): {script}", self.name);
        check_output(what, self.in_ns(ns, script))
    }

    /// PIDs (as the caller sees them) of the live processes of the lab: in
    /// its PID namespace, and the forwarders of its commands, with their
    /// descendants; not the holder or the lab's init. Sorted; empty when
    /// nothing runs in the lab.
    pub fn processes(&self) -> Vec<u32> {
        let mut pids = teardown::find_victims(self.ns.pid_id.ino, &self.spare());
        pids.sort_unstable();
        pids
    }

    /// Kills every process of the lab now (all of them die on drop too),
    /// except its holder and init; returns how many were signalled.
    pub fn kill_all(&self) -> usize {
        teardown::kill_processes_in(self.ns.pid_id.ino, &self.spare())
    }

    /// A cgroup parent of the lab's own (`/berth-lab-NAME-XXXXXX`, named
    /// after its temp dir), for container engines run in the lab
    /// (`--cgroup-parent`): cgroups are not namespaced here, so the lab
    /// removes that tree, and only it, once its processes are gone.
    pub fn cgroup_parent(&self) -> String {
        let base = self.root.file_name().unwrap_or_default();
        format!("/{}", base.to_string_lossy())
    }

    /// The lab's own processes: holder and init.
    fn spare(&self) -> [u32; 2] {
        [self.holder.pid as u32, self.holder.init]
    }

    /// A command like [`Lab::command`] that also gets `other`'s network
    /// namespace as descriptor 9 (`/proc/self/fd/9` in the program), to
    /// reach a namespace of another lab, whose PIDs this lab cannot see.
    pub(crate) fn command_with_netns_of(&self, other: &Lab, program: &str) -> Command {
        let mut cmd = self.command(program);
        let theirs = Arc::clone(&other.ns);
        // SAFETY: `dup2` is async-signal-safe; `theirs` keeps the
        // descriptor open for as long as the command exists.
        unsafe {
            cmd.pre_exec(move || {
                let (net, _, _) = theirs.raw();
                // dup2 onto itself keeps close-on-exec: clear it anyway.
                if libc::dup2(net, 9) == -1 || libc::fcntl(9, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

/// Returns stdout of a successful output, or panics with everything.
fn ok_or_panic(whr: &str, script: &str, out: Output) -> String {
    if !out.status.success() {
        panic!(
            "script failed {whr} ({})\n--- script ---\n{script}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.holder.end() {
            eprintln!("berth-lab: lab {}: waiting for the holder: {e}", self.name);
        }
        teardown::remove_cgroup_tree(&self.cgroup_parent());
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            eprintln!(
                "berth-lab: lab {}: removing {}: {e}",
                self.name,
                self.root.display()
            );
        }
    }
}
