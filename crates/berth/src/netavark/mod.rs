//! berth as Podman's network backend: netavark's command line and JSON.
//!
//! Podman 4 runs `netavark [--config DIR] [--rootless=BOOL]
//! [--aardvark-binary=PATH] setup|teardown NETNS` with the network options
//! on stdin (and `netavark version`). berth answers that protocol when it is
//! executed as `netavark` (a symlink in the directory containers.conf's
//! `helper_binaries_dir` names) or as `berth netavark ...`. Each network of
//! the container is an attachment of the runtime's namespace, exactly as a
//! CNI ADD is (`Engine::cni_add`); the network is built from Podman's
//! definition on first use, marked Podman's, and removed with its last
//! container, as netavark removes its bridge. Names are served by berth's
//! own resolver on the gateways (no aardvark-dns).
//!
//! This module is process glue: the JSON is [`proto`]'s, the mapping to
//! engine requests [`request`]'s (both pure), the engine calls [`ops`]'.
//! Errors are netavark's `{"error": "..."}` on stdout with exit status 1.

mod network;
mod ops;
pub(crate) mod proto;
mod request;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

/// netavark's command line.
#[derive(Debug, Parser)]
#[command(name = "netavark", version = concat!("1.4.0 (berth ", env!("CARGO_PKG_VERSION"), ")"))]
struct Cli {
    /// Read the network options from FILE instead of stdin.
    #[arg(short, long)]
    file: Option<PathBuf>,
    /// netavark's directory for aardvark-dns (unused: berth's resolver).
    #[arg(short, long)]
    config: Option<OsString>,
    /// Rootless Podman (berth serves rootful Podman only).
    #[arg(short, long)]
    rootless: Option<bool>,
    /// Path of aardvark-dns, empty when Podman found none (unused:
    /// berth's resolver serves names).
    #[arg(short, long)]
    aardvark_binary: Option<OsString>,
    /// The command.
    #[command(subcommand)]
    cmd: NetCmd,
}

#[derive(Debug, Subcommand)]
enum NetCmd {
    /// Attach the namespace to the networks of the options.
    Setup {
        /// The container's network namespace.
        netns: PathBuf,
    },
    /// Detach it (idempotent).
    Teardown {
        /// The container's network namespace.
        netns: PathBuf,
    },
    /// Change a network's DNS servers (not supported).
    Update {
        /// Network.
        network: String,
        /// Servers.
        #[arg(long, num_args = 1..)]
        network_dns_servers: Vec<String>,
    },
    /// Print the version as JSON.
    Version,
}

/// How this process was invoked, if as netavark: the arguments to parse
/// (the first is the program name). `netavark ...` through a symlink, or
/// `berth netavark ...`.
pub fn invocation(args: &[OsString]) -> Option<Vec<OsString>> {
    let first = args.first()?;
    let name = std::path::Path::new(first).file_name()?;
    if name == "netavark" {
        return Some(args.to_vec());
    }
    (args.get(1).map(|a| a == "netavark") == Some(true)).then(|| args[1..].to_vec())
}

/// Runs netavark's command `args` (program name first); the exit code.
pub fn main(args: Vec<OsString>, root: Option<PathBuf>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let root = root.or_else(|| std::env::var_os("BERTH_ROOT").map(PathBuf::from));
    match run(cli, root) {
        Ok(out) => {
            if let Some(out) = out {
                if print(&out).is_err() {
                    return 1;
                }
            }
            0
        }
        Err(msg) => {
            let _ = print(&proto::error_json(&msg));
            1
        }
    }
}

fn run(cli: Cli, root: Option<PathBuf>) -> Result<Option<String>, String> {
    if cli.rootless == Some(true) {
        return Err("berth serves rootful Podman only: rootless Podman cannot make bridges (keep netavark for rootless containers)".into());
    }
    let root = root.as_deref();
    match cli.cmd {
        NetCmd::Version => Ok(Some(proto::version_json(env!("CARGO_PKG_VERSION")))),
        NetCmd::Update { network, .. } => Err(format!(
            "netavark update {network}: berth's resolver forwards to the host's resolvers; network DNS servers cannot be changed"
        )),
        NetCmd::Setup { netns } => {
            let opts = proto::parse(&input(cli.file.as_ref())?)?;
            ops::setup(&opts, &netns, root).map(Some)
        }
        NetCmd::Teardown { netns: _ } => {
            let opts = proto::parse(&input(cli.file.as_ref())?)?;
            ops::teardown(&opts, root).map(|()| None)
        }
    }
}

/// The options: from `--file`, else stdin (nothing when stdin is a terminal).
fn input(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    if let Some(f) = file {
        return std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()));
    }
    let mut buf = Vec::new();
    if !std::io::stdin().is_terminal() {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the network options on stdin: {e}"))?;
    }
    Ok(buf)
}

fn print(s: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn invoked_by_name_or_subcommand() {
        assert!(invocation(&words("/usr/lib/berth/netavark version")).is_some());
        assert_eq!(
            invocation(&words("berth netavark setup /x")).unwrap(),
            words("netavark setup /x")
        );
        assert!(invocation(&words("berth run netavark")).is_none());
        assert!(invocation(&words("/usr/bin/berth ps")).is_none());
    }

    #[test]
    fn parses_podmans_command_line() {
        let cli = Cli::try_parse_from(words(
            "netavark --config /run/containers/networks --rootless=false --aardvark-binary=/usr/lib/podman/aardvark-dns setup /run/netns/netns-1",
        ))
        .unwrap();
        assert_eq!(cli.rootless, Some(false));
        assert!(
            matches!(cli.cmd, NetCmd::Setup { netns } if netns == std::path::Path::new("/run/netns/netns-1"))
        );
        let cli = Cli::try_parse_from(words("netavark -r true teardown /x")).unwrap();
        assert!(run(cli, None).unwrap_err().contains("rootful"));
        assert!(Cli::try_parse_from(words("netavark setup")).is_err());
        // Podman without aardvark-dns in its helper directories.
        let cli = Cli::try_parse_from(words("netavark --aardvark-binary= version")).unwrap();
        assert!(run(cli, None).unwrap().unwrap().contains("berth"));
    }
}
