//! Command implementations: thin adapters from the CLI to the engine.

pub mod agent;
pub mod confine;
pub mod container;
pub mod dns;
pub mod launch;
pub mod logfile;
pub mod network;
pub mod network_list;
pub mod port;
pub mod ps;
pub mod run;
pub mod stage;
pub mod system;

use crate::cli::{Cli, Cmd};
use anyhow::Result;
use std::path::Path;

pub use crate::config::open;

/// `p` made absolute (the supervisors a command starts run elsewhere).
fn absolute(p: &Path) -> std::ffi::OsString {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .into_os_string()
}

/// Runs a parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    // Read by the engine (and inherited by the supervisors it starts).
    use crate::config::{AUTH_ENV, CA_ENV, CERT_ENV, KEY_ENV, STORE_ENV};
    let vars = [
        (STORE_ENV, cli.store.as_ref().map(Into::into)),
        (CA_ENV, cli.store_ca.as_deref().map(absolute)),
        (CERT_ENV, cli.store_cert.as_deref().map(absolute)),
        (KEY_ENV, cli.store_key.as_deref().map(absolute)),
        (AUTH_ENV, cli.store_auth.as_deref().map(absolute)),
    ];
    for (var, value) in vars {
        if let Some(v) = value {
            std::env::set_var(var, v);
        }
    }
    let root = cli.root.as_deref();
    match cli.cmd {
        Cmd::Network(c) => network::run(root, c),
        Cmd::Run(a) => run::run(root, *a),
        Cmd::Exec(a) => container::exec(root, a),
        Cmd::Ps(a) => ps::ps(root, a),
        Cmd::Inspect(a) => container::inspect(root, a),
        Cmd::Logs(a) => container::logs(root, a),
        Cmd::Port { container, port } => port::port(root, &container, port.as_deref()),
        Cmd::Stop(a) => container::stop(root, a),
        Cmd::Start(a) => run::start(root, &a.names),
        Cmd::Rm(a) => container::rm(root, a),
        Cmd::System(c) => system::run(root, c),
        Cmd::Tour(a) => crate::tour::run(root, a),
        Cmd::Agent(a) => agent::run(root, &a),
        Cmd::Topology(a) => crate::topology::run(root, &a.networks, &a.format),
        Cmd::Ui(a) => crate::ui::run(root, &a.listen, a.allow_remote),
        Cmd::DockerPlugin(a) => crate::docker::run(root, a.socket.as_deref()),
        Cmd::Doctor { format } => crate::doctor::run(root, format.as_deref()),
        Cmd::Trace(a) => crate::trace::run(root, &a.from, &a.to, a.format.as_deref(), a.timeout),
        Cmd::Completion { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "berth", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(0)
        }
        Cmd::Man { dir } => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(Cli::command(), &dir).map_err(|e| {
                anyhow::anyhow!("cannot write manual pages to {}: {e}", dir.display())
            })?;
            Ok(0)
        }
        Cmd::Supervise {
            id,
            go_fd,
            ready_fd,
        } => launch::supervise(root, &id, go_fd, ready_fd),
        Cmd::Dns { child } => dns::run(root, child),
        Cmd::Reap { held } => {
            let paths = berth_core::paths::Paths::new(root);
            berth_core::kernel::retire::reap_once(&paths.run, &held)?;
            Ok(0)
        }
        Cmd::Netavark { args } => {
            let args = std::iter::once("netavark".into()).chain(args).collect();
            Ok(crate::netavark::main(args, root.map(Into::into)))
        }
    }
}
