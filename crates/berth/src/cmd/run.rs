//! `run`, `start` and the per-container supervisor.
//!
//! A detached container is watched by a small supervisor process (`berth
//! __supervise ID`, started in its own session, like Podman's conmon): it
//! starts the container's process, keeps its output in the log file, records
//! its exit status, takes its network down and honours `--rm`. berth needs
//! no always-running daemon. A foreground `run` supervises in-process.

use super::confine;
use super::open;
use super::stage::{stage, Staged};
use crate::cli::RunArgs;
use anyhow::{anyhow, Result};
use berth_core::engine::{Engine, StartSpec};
use berth_core::model::{netopt, parse_publish, Container, ContainerConfig};
use berth_runtime::pty::{self, Pty, RawModeGuard};
use berth_runtime::{ContainerIo, EtcFiles, LogSource, ProcessSpec, PtyRelay, SignalForwarder};
use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::Path;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Builds the stored configuration from `run`'s flags (validation only:
/// nothing is created; `hidden` are berth's own directories).
fn config(a: &RunArgs, hidden: &[std::path::PathBuf]) -> Result<ContainerConfig> {
    let flat = netopt::FlatNetworkOpts {
        ip: a.ip.clone(),
        ip6: a.ip6.clone(),
        mac: a.mac_address.clone(),
        aliases: a.network_alias.clone(),
    };
    let (networks, net_container) = match netopt::network_mode(&a.network, &flat)? {
        netopt::NetworkMode::Networks(n) => (n, None),
        netopt::NetworkMode::Container(c) => (Vec::new(), Some(c)),
    };
    let publish = a
        .publish
        .iter()
        .map(|p| parse_publish(p))
        .collect::<Result<Vec<_>, _>>()?;
    let env = a
        .env
        .iter()
        .map(|e| match e.split_once('=') {
            Some(_) => e.clone(),
            None => format!("{e}={}", std::env::var(e).unwrap_or_default()),
        })
        .collect();
    if let Some(r) = &a.rootfs {
        if !r.is_dir() {
            return Err(anyhow!("--rootfs {}: no such directory", r.display()));
        }
    }
    let rootfs = a
        .rootfs
        .as_ref()
        .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()));
    let security = confine::security(a, rootfs.as_deref(), hidden)?;
    Ok(ContainerConfig {
        hostname: a.hostname.clone().unwrap_or_default(),
        argv: a.command.clone(),
        env,
        rootfs,
        tty: a.tty,
        interactive: a.interactive,
        auto_remove: a.rm,
        networks,
        publish,
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        dns_options: a.dns_option.clone(),
        add_hosts: a.add_host.clone(),
        security,
        log: berth_core::model::log::LogOptions::parse(&a.log_opt)?,
        labels: berth_core::model::network::parse_kv(&a.label, "--label", false)?,
        domainname: a.domainname.clone().unwrap_or_default(),
        sysctls: netopt::parse_sysctls(&a.sysctl)?,
        expose: a
            .expose
            .iter()
            .map(|e| netopt::parse_expose(e))
            .collect::<Result<_, _>>()?,
        publish_all: a.publish_all,
        net_container,
    })
}

/// The container process's environment: PATH, HOSTNAME, TERM, then `-e`.
pub fn environment(cfg: &ContainerConfig, extra: &[String]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOSTNAME".into(), cfg.hostname.clone()),
    ];
    if cfg.tty {
        env.push(("TERM".into(), "xterm".into()));
    }
    for e in cfg.env.iter().chain(extra) {
        if let Some((k, v)) = e.split_once('=') {
            env.retain(|(ek, _)| ek != k);
            env.push((k.to_string(), v.to_string()));
        }
    }
    env
}

pub(super) fn process_spec(s: &StartSpec) -> ProcessSpec {
    ProcessSpec {
        argv: s.config.argv.clone(),
        env: environment(&s.config, &[]),
        hostname: s.config.hostname.clone(),
        domainname: s.config.domainname.clone(),
        netns: s
            .netns
            .clone()
            .unwrap_or_else(|| "/proc/self/ns/net".into()),
        etc: EtcFiles {
            hosts: s.etc_dir.join("hosts"),
            hostname: s.etc_dir.join("hostname"),
            resolv_conf: s.etc_dir.join("resolv.conf"),
        },
        rootfs: s.config.rootfs.clone(),
        workdir: None,
        confinement: confine::confinement(&s.config.security, &s.hidden),
        mounts: confine::mounts(&s.config.security),
    }
}

/// `berth run`.
pub fn run(root: Option<&Path>, a: RunArgs) -> Result<i32> {
    let paths = berth_core::paths::Paths::new(root);
    let cfg = config(&a, &[paths.state, paths.run])?;
    // Before the engine opens (and sets the host up): bad input changes nothing.
    cfg.validate()?;
    // Started now, the supervisor gets going while the network is set up;
    // it waits for the container to exist (and exits if it never does).
    let id = berth_core::ids::new_id()?;
    let launch = a
        .detach
        .then(|| super::launch::Launch::spawn(root, &id))
        .transpose()?;
    let mut engine = open(root)?;
    if let Some(launch) = &launch {
        engine.after_next_intent(launch.recorded()?);
    }
    let created = engine.create_container_as(id, a.name.as_deref(), cfg)?;
    for w in &created.warnings {
        eprintln!("WARNING: {w}");
    }
    let c = created.container;
    // A crash here leaves a created container with its network, no process.
    crate::config::failpoint("run:created");
    if let Some(launch) = launch {
        let code = launch.start()?;
        if code != 0 {
            finish_failed(&mut engine, &c.id, code)?;
            return Ok(code);
        }
        println!("{}", c.id);
        return Ok(0);
    }
    foreground(&mut engine, &c.id)
}

/// Records the container's PID 1 as running: called by the runtime after
/// the fork and before the command may exec, so that a process that runs
/// is always recorded (a crash of this process before this returns leaves
/// the child to exit at its gate, without running the command). `who`
/// names the failpoints (`supervise:forked`, `supervise:recorded`).
fn record_running(engine: &mut Engine, id: &str, pid: i32, who: &str) -> Result<(), String> {
    crate::config::failpoint(&format!("{who}:forked"));
    engine
        .mark_running(id, pid, Some(std::process::id() as i32))
        .map_err(|e| e.to_string())?;
    crate::config::failpoint(&format!("{who}:recorded"));
    Ok(())
}

/// After a failed start: ends whatever runs of it (a process recorded by a
/// supervisor that died before saying "ok"), then keeps it as exited
/// (Docker keeps it as created) or removes it with `--rm`.
fn finish_failed(engine: &mut Engine, id: &str, code: i32) -> Result<()> {
    let c = engine.container(id)?;
    Engine::kill_and_wait(&c, std::time::Duration::ZERO);
    if c.config.auto_remove {
        engine.remove_container(id, true)?;
    } else {
        engine.mark_exited(id, Some(code))?;
    }
    Ok(())
}

/// Listens on the container's ports the kernel cannot forward, before its
/// process runs (see `forwarder`).
fn bind_forwards(engine: &mut Engine, c: &Container) -> Result<crate::forwarder::Bound> {
    crate::forwarder::bind(&engine.userland_forwards(c)?)
}

/// Runs the container attached to this terminal; returns its exit code.
fn foreground(engine: &mut Engine, id: &str) -> Result<i32> {
    let c = engine.container(id)?;
    let spec = engine.start_spec(&c)?;
    let pspec = process_spec(&spec);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let (master, io) = match c.config.tty {
        true => {
            let p = Pty::open()?;
            if pty::is_terminal(stdin.as_fd()) {
                let _ = pty::copy_window_size(stdin.as_fd(), p.master.as_fd());
            }
            (Some(p.master), ContainerIo::Tty(p.slave))
        }
        false if c.config.interactive => (None, ContainerIo::inherit()),
        false => (None, ContainerIo::no_stdin()),
    };
    let signals = if c.config.tty {
        SignalForwarder::install(&SignalForwarder::FOREGROUND_TTY)?
    } else {
        SignalForwarder::install(&SignalForwarder::FOREGROUND)?
    };
    let forwards = match bind_forwards(engine, &c) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("berth: {e}");
            finish_failed(engine, id, 125)?;
            return Ok(125);
        }
    };
    let mut record = |pid| record_running(engine, id, pid, "run");
    let mut process = match berth_runtime::spawn_recorded(&pspec, io, &mut record) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("berth: {e}");
            finish_failed(engine, id, e.exit_code())?;
            return Ok(e.exit_code());
        }
    };
    let serving = forwards.serve();
    let _raw = match (&master, pty::is_terminal(stdin.as_fd())) {
        (Some(_), true) => Some(RawModeGuard::enable(stdin.as_fd())?),
        _ => None,
    };
    let relay = master.as_ref().map(|m| PtyRelay {
        master: m.as_fd(),
        input: c.config.interactive.then(|| stdin.as_fd()),
        output: stdout.as_fd(),
        terminal: pty::is_terminal(stdin.as_fd()).then(|| stdin.as_fd()),
    });
    let status = berth_runtime::wait_attached(&mut process, relay, Some(&signals))?;
    serving.close();
    drop(_raw);
    let code = status.code();
    engine.mark_exited(id, Some(code))?;
    if c.config.auto_remove {
        engine.remove_container(id, true)?;
    }
    Ok(code)
}

/// Starts `berth __supervise` ([`super::launch`]) for container `id` and
/// waits for it to say whether the container's process started. Returns 0
/// or Docker's exit code.
fn start_supervisor(root: Option<&Path>, id: &str) -> Result<i32> {
    super::launch::Launch::spawn(root, id)?.start()
}

/// `berth __supervise ID`: see the module docs.
/// `engine` is opened on the store only, by [`super::launch::supervise`]
/// (before `run` says "go"), with `config`; `staged` is what it [`stage`]d
/// then, if anything.
pub fn supervise(
    config: berth_core::Config,
    mut engine: Engine,
    id: &str,
    ready_fd: Option<i32>,
    staged: Option<Staged>,
) -> Result<i32> {
    // SAFETY: the fd was handed to us open by our parent (start_supervisor).
    let mut ready = ready_fd.map(|fd| std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }));
    // Close-on-exec from here on: a long-lived process started on the way
    // (the DNS resolver) must not keep `berth run` waiting for EOF.
    if let Some(f) = &ready {
        let _ = nix::fcntl::fcntl(
            f,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    let mut report = |msg: &str| {
        if let Some(mut f) = ready.take() {
            let _ = f.write_all(msg.as_bytes());
        }
    };
    let staged = match staged {
        Some(s) => s,
        None => stage(&mut engine, id, false)?,
    };
    let Staged {
        c,
        spec,
        master,
        log_r,
        log_fd,
        stdin_keep,
        process,
        forwards,
    } = staged;
    // The container's output (its pty, or without a tty a pipe holding its
    // stdout and stderr) goes to the log (kept within its size, see
    // `logfile`) from the supervisor's own wait loop: no thread, so a
    // container costs two tasks, the supervisor and its process.
    let mut log = super::logfile::LogWriter::open(&spec.etc_dir.join("log"), c.config.log)?;
    let forwards = match forwards.and_then(|f| crate::forwarder::bind(&f)) {
        Ok(b) => b,
        Err(e) => {
            report(&format!("err 125 {e}"));
            return Ok(125);
        }
    };
    let mut record = |pid| record_running(&mut engine, id, pid, "supervise");
    let started = match process {
        Ok(prepared) => prepared.start(&mut record),
        Err(io) => berth_runtime::spawn_recorded(&process_spec(&spec), io, &mut record),
    };
    let mut process = match started {
        Ok(p) => p,
        Err(e) => {
            report(&format!("err {} {e}", e.exit_code()));
            return Ok(e.exit_code());
        }
    };
    // A crash here leaves a running, recorded container and a `run` told
    // that starting it failed (it kills the container).
    crate::config::failpoint("supervise:started");
    let serving = forwards.serve();
    report("ok");
    // While the container runs, the supervisor holds nothing of the store
    // (issue 13, goal 6: its memory is the same whatever the store holds):
    // the connection and its caches are closed and the freed heap given
    // back; the store is opened again when the container exits.
    drop(engine);
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    // Only the container holds the pipe's write end now: its EOF is the
    // end of the container's output.
    drop(log_fd);
    let source = match &master {
        Some(m) => LogSource::Pty(m.as_fd()),
        None => LogSource::Pipe(log_r.as_fd()),
    };
    // A full disk must not stop the container: its output is then lost,
    // as with any full log.
    let mut sink = |buf: &[u8]| drop(log.write(buf));
    // Returns once everything the container wrote is in the log, before
    // its exit is recorded (its processes are gone with its PID namespace,
    // and their ends of the pipe with them; a straggler gets 2 s).
    let status = berth_runtime::wait_logged(&mut process, source, &mut sink)?;
    serving.close();
    drop(stdin_keep);
    // `stop` and `rm -f` wait for the exit record, not for the scan of the
    // host's processes that ends any left in the container's namespace.
    let mut engine = Engine::open_store_only(&config)?;
    engine.defer_sweeps()?;
    engine.mark_exited(id, Some(status.code()))?;
    if c.config.auto_remove {
        let _ = engine.remove_container(id, true);
    }
    engine.sweep_deferred();
    Ok(status.code())
}

/// `berth start`: rebuilds the network and starts the supervisor.
pub fn start(root: Option<&Path>, names: &[String]) -> Result<i32> {
    let mut engine = open(root)?;
    let mut code = 0;
    for n in names {
        let started = engine
            .prepare_start(n)
            .map_err(anyhow::Error::from)
            .and_then(|c| {
                // A crash here leaves the network up and no process.
                crate::config::failpoint("start:prepared");
                let rc = start_supervisor(root, &c.id)?;
                if rc != 0 {
                    let cur = engine.container(&c.id)?;
                    Engine::kill_and_wait(&cur, std::time::Duration::ZERO);
                    engine.mark_exited(&c.id, Some(rc))?;
                    return Err(anyhow!("cannot start container {n}"));
                }
                Ok(())
            });
        match started {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("berth: {}", crate::config::report(&e));
                code = 1;
            }
        }
    }
    Ok(code)
}
