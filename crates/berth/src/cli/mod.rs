//! The command line: clap definitions only (parsing, no behaviour).
//! Names and flags follow Docker's so a Docker user's fingers work.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// berth: Docker's container network model as a standalone engine.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, propagate_version = true)]
pub struct Cli {
    /// State root (default /var/lib/berth, runtime files in /run/berth);
    /// relocates all of berth's files under DIR.
    #[arg(long, env = "BERTH_ROOT", global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Cluster store of overlay networks, shared by every host:
    /// etcds://HOST:PORT[,HOST:PORT...] (TLS), or etcd://... (plain, labs).
    #[arg(long, env = "BERTH_STORE", global = true, value_name = "URL")]
    pub store: Option<String>,
    /// The CA that signed the cluster store members' certificates (PEM).
    #[arg(long, env = "BERTH_STORE_CA", global = true, value_name = "FILE")]
    pub store_ca: Option<PathBuf>,
    /// Client certificate for the cluster store (PEM).
    #[arg(long, env = "BERTH_STORE_CERT", global = true, value_name = "FILE")]
    pub store_cert: Option<PathBuf>,
    /// The client certificate's key (PEM; readable by its owner only).
    #[arg(long, env = "BERTH_STORE_KEY", global = true, value_name = "FILE")]
    pub store_key: Option<PathBuf>,
    /// An etcd user: a file holding USER:PASSWORD (readable by its owner only).
    #[arg(long, env = "BERTH_STORE_AUTH", global = true, value_name = "FILE")]
    pub store_auth: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Manage networks.
    #[command(subcommand)]
    Network(NetworkCmd),
    /// Run a command in a new container.
    Run(Box<RunArgs>),
    /// Run a command in a running container.
    Exec(ExecArgs),
    /// List containers.
    Ps(PsArgs),
    /// Show low-level information on containers (or networks).
    Inspect(InspectArgs),
    /// Show a container's output.
    Logs(LogsArgs),
    /// List a container's published ports, or where PRIVATE_PORT is published.
    Port {
        /// Container.
        container: String,
        /// PRIVATE_PORT[/PROTO] (tcp by default).
        port: Option<String>,
    },
    /// Stop running containers.
    Stop(StopArgs),
    /// Start stopped containers.
    Start(NamesArgs),
    /// Remove containers.
    Rm(RmArgs),
    /// Manage berth itself.
    #[command(subcommand)]
    System(SystemCmd),
    /// The article's experiments, step by step, in a throwaway namespace.
    Tour(TourArgs),
    /// Keep this host's overlay networks in step with the cluster store
    /// (runs until killed; one per host).
    Agent(AgentArgs),
    /// Show the live picture: namespaces, veth pairs, bridges, ports, NAT.
    Topology(TopologyArgs),
    /// Serve a live web page of the topology (loopback only by default).
    Ui(UiArgs),
    /// Check what breaks container networking on this host, and what to do.
    Doctor {
        /// Output: text or json.
        #[arg(long)]
        format: Option<String>,
    },
    /// Follow a real packet from FROM to TO through the kernel, hop by hop.
    Trace(TraceArgs),
    /// Podman's network backend: netavark's setup, teardown and version
    /// (see docs/podman.md); also run when berth is executed as `netavark`.
    #[command(disable_help_flag = true)]
    Netavark {
        /// netavark's options and command.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Serve Docker as its network and IPAM driver `berth` (runs until
    /// killed): `docker network create -d berth --ipam-driver berth ...`.
    #[command(name = "docker-plugin")]
    DockerPlugin(DockerPluginArgs),
    /// Print a shell completion script: bash, zsh or fish (also elvish,
    /// powershell). E.g. `berth completion bash > /etc/bash_completion.d/berth`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Internal: write the manual pages (berth.1, berth-network-ls.1, ...)
    /// into DIR (the Debian package's build uses it).
    #[command(name = "__man", hide = true)]
    Man {
        /// Directory to write them to.
        dir: PathBuf,
    },
    /// Internal: the embedded DNS resolver (under its watchdog).
    #[command(name = "__dns", hide = true)]
    Dns {
        /// Run the resolver itself (the watchdog runs it this way).
        #[arg(long)]
        child: bool,
    },
    /// Internal: delete the retired veths in the background (started after
    /// a CNI DEL or a `network disconnect`).
    #[command(name = "__reap", hide = true)]
    Reap {
        /// A descriptor the removal that started it handed over (inherited):
        /// closed at once.
        #[arg(long)]
        held: Vec<i32>,
    },
    /// Internal: supervise a detached container.
    #[command(name = "__supervise", hide = true)]
    Supervise {
        /// Container id.
        id: String,
        /// fd to wait on for "go" before starting (EOF: exit).
        #[arg(long)]
        go_fd: Option<i32>,
        /// fd to report start-up on.
        #[arg(long)]
        ready_fd: Option<i32>,
    },
}

/// A `--filter` value must be KEY=VALUE: anything else is a bad command
/// line (Docker's `FilterOpt`, exit 125).
pub fn filter_value(s: &str) -> Result<String, String> {
    if s.is_empty() || s.contains('=') {
        Ok(s.to_string())
    } else {
        Err("bad format of filter (expected name=value)".into())
    }
}

mod container;
mod network;
mod system;

pub use container::*;
pub use network::*;
pub use system::*;
