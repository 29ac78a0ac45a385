//! Command implementations: thin adapters from the CLI to the engine.

pub mod agent;
pub mod confine;
pub mod container;
pub mod dns;
pub mod logfile;
pub mod network;
pub mod run;
pub mod system;

use crate::cli::{Cli, Cmd};
use anyhow::Result;

pub use crate::config::open;

/// Runs a parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    if let Some(store) = &cli.store {
        // Read by the engine (and inherited by the supervisors it starts).
        std::env::set_var("BERTH_STORE", store);
    }
    let root = cli.root.as_deref();
    match cli.cmd {
        Cmd::Network(c) => network::run(root, c),
        Cmd::Run(a) => run::run(root, *a),
        Cmd::Exec(a) => container::exec(root, a),
        Cmd::Ps(a) => container::ps(root, a),
        Cmd::Inspect(a) => container::inspect(root, a),
        Cmd::Logs(a) => container::logs(root, a),
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
        Cmd::Supervise { id, ready_fd } => run::supervise(root, &id, ready_fd),
        Cmd::Dns { child } => dns::run(root, child),
        Cmd::Netavark { args } => {
            let args = std::iter::once("netavark".into()).chain(args).collect();
            Ok(crate::netavark::main(args, root.map(Into::into)))
        }
    }
}
