//! What the binary gives the engine: one [`Config`] built from the command
//! line and the environment (berth-core reads neither), the way to start
//! the embedded DNS resolver (`berth __dns`), where its diagnostics go
//! (`tracing` to stderr: warnings always, `BERTH_LOG=debug` for more), and
//! how errors are reported.

use berth_core::store::etcd_config::Credentials;
use berth_core::{Config, Error};
use std::path::Path;
use std::sync::Arc;

/// The cluster store's URL (set from `--store` too).
pub const STORE_ENV: &str = "BERTH_STORE";
/// The CA of the cluster store members' certificates (`--store-ca`).
pub const CA_ENV: &str = "BERTH_STORE_CA";
/// The client certificate (PEM; `--store-cert`).
pub const CERT_ENV: &str = "BERTH_STORE_CERT";
/// The client certificate's private key (PEM; `--store-key`).
pub const KEY_ENV: &str = "BERTH_STORE_KEY";
/// A file holding `USER:PASSWORD` for etcd's authentication
/// (`--store-auth`).
pub const AUTH_ENV: &str = "BERTH_STORE_AUTH";

/// The engine's settings for state root `root`, from the environment:
/// `BERTH_STORE` and `BERTH_STORE_CA`, `_CERT`, `_KEY`, `_AUTH` (set from
/// the flags too, so supervisors and the CNI plugin inherit them),
/// `BERTH_RESOLV_CONF`,
/// `BERTH_ADVERTISE_ADDR`, `BERTH_CLUSTER_TTL`, `BERTH_TRACE_STEPS`,
/// `BERTH_NFT_SPAWN`, `BERTH_FAILPOINT`.
pub fn engine(root: Option<&Path>) -> Result<Config, Error> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let advertise = match var("BERTH_ADVERTISE_ADDR") {
        Some(a) => Some(a.parse().map_err(|_| {
            Error::invalid(format!(
                "invalid BERTH_ADVERTISE_ADDR {a:?}: expected an IP address"
            ))
        })?),
        None => None,
    };
    let defaults = Config::default();
    Ok(Config {
        root: root.map(Path::to_path_buf),
        store: var(STORE_ENV),
        store_credentials: Credentials {
            ca: var(CA_ENV).map(Into::into),
            cert: var(CERT_ENV).map(Into::into),
            key: var(KEY_ENV).map(Into::into),
            auth: var(AUTH_ENV).map(Into::into),
        },
        resolv_conf: var("BERTH_RESOLV_CONF").map_or(defaults.resolv_conf, Into::into),
        advertise,
        cluster_ttl: var("BERTH_CLUSTER_TTL")
            .and_then(|v| v.parse().ok())
            .filter(|t| *t >= 2)
            .unwrap_or(defaults.cluster_ttl),
        trace_steps: var("BERTH_TRACE_STEPS").is_some(),
        nft_spawn: var("BERTH_NFT_SPAWN").is_some(),
        failpoint: var("BERTH_FAILPOINT"),
        resolver: Some(Arc::new(spawn_resolver)),
        reaper: Some(Arc::new(spawn_reaper)),
    })
}

/// Opens the engine for state root `root` (setting the host up on the
/// first command since boot).
pub fn open(root: Option<&Path>) -> anyhow::Result<berth_core::engine::Engine> {
    Ok(berth_core::engine::Engine::open(&engine(root)?)?)
}

/// Passes failpoint `name` of the binary itself (see
/// `berth_core::failpoint`).
pub fn failpoint(name: &str) {
    berth_core::failpoint::hit(name, std::env::var("BERTH_FAILPOINT").ok().as_deref());
}

/// `berth --root ROOT SUBCOMMAND`, this very binary, without the CNI
/// variables of a plugin invocation (with `CNI_COMMAND` set, berth would
/// be a CNI plugin again instead of running `SUBCOMMAND`).
fn internal_command(root: &Path, subcommand: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg("--root").arg(root).arg(subcommand);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CNI_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Starts `berth __dns` (the resolver under its watchdog) in its own
/// session, for the berth whose state root is `root`.
fn spawn_resolver(root: &Path) -> berth_core::Result<()> {
    use std::os::unix::process::CommandExt;
    let mut cmd = internal_command(root, "__dns");
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir("/");
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    cmd.spawn()
        .map(drop)
        .map_err(|e| Error::internal(format!("cannot start the DNS resolver: {e}")))
}

/// Starts `berth __reap` (see `berth_core::kernel::reaper`) in its own
/// process group, with no stdio: a CNI runtime waits for the end of the
/// plugin's output, not for the reaper. No `pre_exec`, so the standard
/// library spawns it with `posix_spawn` (no copy of this process). `hold`
/// are inherited (their close-on-exec flag is off while it is spawned).
/// Nothing waits for it here: a short-lived caller exits first (the
/// reaper is then init's), and a long-lived one (`berth docker-plugin`)
/// collects the reapers that ended each time it starts another
/// ([`REAPERS`]), so it keeps no more zombies than reapers it started
/// since the last one ended. (A thread waiting for each cost a DEL a
/// thread's start and end.)
fn spawn_reaper(root: &Path, hold: &[std::os::fd::RawFd]) -> berth_core::Result<()> {
    use std::os::unix::process::CommandExt;
    let inherit = |on: bool| {
        for fd in hold {
            set_cloexec(*fd, !on);
        }
    };
    inherit(true);
    let mut cmd = internal_command(root, "__reap");
    for fd in hold {
        cmd.arg("--held").arg(fd.to_string());
    }
    let spawned = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir("/")
        .process_group(0)
        .spawn();
    inherit(false);
    let child = spawned
        .map_err(|e| Error::internal(format!("cannot start a reaper of retired veths: {e}")))?;
    let mut started = REAPERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    started.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    started.push(child);
    Ok(())
}

/// The reapers this process started that may still run (see
/// [`spawn_reaper`]).
static REAPERS: std::sync::Mutex<Vec<std::process::Child>> = std::sync::Mutex::new(Vec::new());

/// Sets or clears the close-on-exec flag of `fd` (best effort: a
/// descriptor it fails on is not inherited, and its close waits here).
fn set_cloexec(fd: std::os::fd::RawFd, on: bool) {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    // SAFETY: `fd` is open for the whole call: the engine's kernel handle
    // owns it and outlives the spawn.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let flags = match on {
        true => FdFlag::FD_CLOEXEC,
        false => FdFlag::empty(),
    };
    let _ = fcntl(fd, FcntlArg::F_SETFD(flags));
}

/// Sends the engine's diagnostics to stderr: warnings (`berth: warning:
/// …`) always; `BERTH_TRACE_STEPS` adds the time of each step (`info`),
/// `BERTH_LOG=error|warn|info|debug|trace` sets the level.
pub fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    let level = match std::env::var("BERTH_LOG").ok().as_deref() {
        Some("error") => LevelFilter::ERROR,
        Some("info") => LevelFilter::INFO,
        Some("debug") => LevelFilter::DEBUG,
        Some("trace") => LevelFilter::TRACE,
        _ if std::env::var_os("BERTH_TRACE_STEPS").is_some() => LevelFilter::INFO,
        _ => LevelFilter::WARN,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .event_format(Plain)
        .try_init();
}

/// `berth: warning: MESSAGE` (`berth: MESSAGE` for `info`).
struct Plain;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Plain
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error: ",
            tracing::Level::WARN => "warning: ",
            tracing::Level::INFO => "",
            _ => "debug: ",
        };
        write!(w, "berth: {level}")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// An error and its causes on one line, each cause once (berth-core's
/// errors already say their cause: `context: cause`).
pub fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain().map(ToString::to_string) {
        if out.ends_with(&cause) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&cause);
    }
    out
}
