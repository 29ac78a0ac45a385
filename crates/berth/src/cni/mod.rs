//! berth as a CNI plugin. `main` checks `CNI_COMMAND` before anything else:
//! when a runtime executes `berth` (installed or linked as `berth` in its
//! CNI bin directory, configuration `"type": "berth"`), it is a CNI 1.1
//! plugin, not the Docker-like command line.
//!
//! This module is process glue only: the protocol (environment,
//! configuration, results, errors) is the `berth-cni` crate's, the work the
//! engine's (`Engine::cni_add` and friends). It reads stdin, maps the
//! configuration to an engine request ([`request`]), maps what the engine
//! did back to a result ([`result`]), and prints the result, or the spec's
//! error object, on stdout. `BERTH_TRACE_STEPS=1` prints the time of each
//! phase on stderr.

mod ops;
mod request;
mod result;

use berth_cni::{code, CniError, Command, Version};
use berth_core::engine::CniFailure;
use berth_core::ErrorKind;
use std::io::{IsTerminal, Read, Write};
use std::time::Instant;

/// Phase timer for `BERTH_TRACE_STEPS=1`.
pub(crate) struct Trace {
    on: bool,
    start: Instant,
    last: Instant,
}

impl Trace {
    pub(crate) fn new() -> Trace {
        let now = Instant::now();
        Trace {
            on: std::env::var_os("BERTH_TRACE_STEPS").is_some(),
            start: now,
            last: now,
        }
    }

    /// Prints the time since the previous phase.
    pub(crate) fn phase(&mut self, what: &str) {
        if self.on {
            let now = Instant::now();
            eprintln!(
                "berth: cni {what} took {:?} (total {:?})",
                now - self.last,
                now - self.start
            );
            self.last = now;
        }
    }
}

/// Runs the plugin; returns the process exit code.
pub fn main() -> i32 {
    let mut trace = Trace::new();
    let mut stdin = Vec::new();
    // A runtime always pipes the configuration (`{"cniVersion": ...}` for
    // VERSION); someone typing `CNI_COMMAND=VERSION berth` has none.
    let read = match std::io::stdin().is_terminal() {
        true => Ok(0),
        false => std::io::stdin().read_to_end(&mut stdin),
    };
    let version = declared_version(&stdin);
    let outcome = read
        .map_err(|e| {
            CniError::new(
                code::IO,
                "error reading from stdin",
                format!("cannot read the configuration: {e}"),
            )
        })
        .and_then(|_| run(&stdin, &mut trace));
    let code = match outcome {
        Ok(Some(out)) => print(&out).map_or(1, |_| 0),
        Ok(None) => 0,
        Err(e) => {
            let _ = print(&e.to_json(version.as_str()));
            1
        }
    };
    trace.phase("output");
    code
}

/// The `cniVersion` on stdin if it is one berth speaks (errors are
/// rendered in it), else the latest.
fn declared_version(stdin: &[u8]) -> Version {
    serde_json::from_slice::<serde_json::Value>(stdin)
        .ok()
        .and_then(|v| Version::parse(v.get("cniVersion")?.as_str()?).ok())
        .unwrap_or(Version::LATEST)
}

fn print(v: &serde_json::Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}")?;
    out.flush()
}

/// Parses the environment and configuration and runs the command; the
/// JSON to print on success, if any.
fn run(stdin: &[u8], trace: &mut Trace) -> Result<Option<serde_json::Value>, CniError> {
    let env = berth_cni::env::parse(|k| std::env::var(k).ok())?;
    if env.command == Command::Version {
        return Ok(Some(berth_cni::version::version_result(stdin)));
    }
    let config = berth_cni::config::parse(stdin)?;
    trace.phase("parse");
    let root = std::env::var_os("BERTH_ROOT").map(std::path::PathBuf::from);
    let root = root.as_deref();
    match env.command {
        Command::Add => ops::add(&env, &config, root, trace).map(Some),
        Command::Del => ops::del(&env, &config, root, trace).map(|()| None),
        Command::Check => ops::check(&env, &config, root).map(|()| None),
        Command::Gc => ops::gc(&config, root).map(|()| None),
        Command::Status => ops::status(&config, root).map(|()| None),
        Command::Version => Ok(None),
    }
}

/// The spec's error for what the engine reported.
pub(crate) fn cni_error(f: CniFailure) -> CniError {
    let (code, msg) = match &f {
        CniFailure::Engine(e) => match e.kind() {
            ErrorKind::InvalidInput | ErrorKind::NotFound => {
                (code::INVALID_CONFIG, "invalid network configuration")
            }
            ErrorKind::Conflict => (code::CONFLICT, "already in use"),
            ErrorKind::Permission => (code::INTERNAL, "not permitted"),
            ErrorKind::Kernel | ErrorKind::Store | ErrorKind::Internal => {
                (code::INTERNAL, "berth failed")
            }
        },
        CniFailure::BadNetns(_) => (code::INVALID_ENV, "invalid CNI_NETNS"),
        CniFailure::UnknownContainer(_) => (code::UNKNOWN_CONTAINER, "unknown container"),
        CniFailure::Drift(_) => (code::DRIFT, "the attachment is not as ADD left it"),
        CniFailure::Settings(_) => (code::INVALID_CONFIG, "network settings differ"),
        CniFailure::TryAgain(_) => (code::TRY_AGAIN, "try again later"),
        CniFailure::NotAvailable(_) => (code::NOT_AVAILABLE, "plugin not available"),
        CniFailure::LimitedConnectivity(_) => (
            code::LIMITED_CONNECTIVITY,
            "plugin not available, connectivity limited",
        ),
    };
    CniError::new(code, msg, f.to_string())
}
