//! The command line: clap definitions only (parsing, no behaviour).
//! Names and flags follow Docker's so a Docker user's fingers work.

use clap::{Args, Parser, Subcommand};
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
    /// etcd://HOST:PORT[,HOST:PORT...].
    #[arg(long, env = "BERTH_STORE", global = true, value_name = "URL")]
    pub store: Option<String>,
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
    Run(RunArgs),
    /// Run a command in a running container.
    Exec(ExecArgs),
    /// List containers.
    Ps(PsArgs),
    /// Show low-level information on containers (or networks).
    Inspect(InspectArgs),
    /// Show a container's output.
    Logs(LogsArgs),
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
    /// Internal: the embedded DNS resolver (under its watchdog).
    #[command(name = "__dns", hide = true)]
    Dns {
        /// Run the resolver itself (the watchdog runs it this way).
        #[arg(long)]
        child: bool,
    },
    /// Internal: supervise a detached container.
    #[command(name = "__supervise", hide = true)]
    Supervise {
        /// Container id.
        id: String,
        /// fd to report start-up on.
        #[arg(long)]
        ready_fd: Option<i32>,
    },
}

/// `berth network ...`.
#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// List networks.
    #[command(alias = "list")]
    Ls {
        /// Only show ids.
        #[arg(short, long)]
        quiet: bool,
        /// Output: table, json, or a Go template.
        #[arg(long)]
        format: Option<String>,
        /// Do not truncate ids.
        #[arg(long)]
        no_trunc: bool,
    },
    /// Create a network.
    Create(NetworkCreateArgs),
    /// Show networks in Docker's JSON.
    Inspect {
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
        /// A Go template or json.
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Remove networks.
    #[command(alias = "remove")]
    Rm {
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Connect a container to a network.
    Connect(ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect {
        /// Ignored (kept for Docker compatibility).
        #[arg(short, long)]
        force: bool,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
    /// Remove all unused networks.
    Prune {
        /// Do not ask (berth never asks; kept for Docker compatibility).
        #[arg(short, long)]
        force: bool,
    },
}

/// `network create`.
#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// Network name.
    pub name: String,
    /// Driver: bridge (default), host or null.
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR form (repeatable; IPv4 and IPv6).
    #[arg(long)]
    pub subnet: Vec<String>,
    /// Gateway of a subnet (repeatable).
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Allocate container addresses from this sub-range (repeatable).
    #[arg(long)]
    pub ip_range: Vec<String>,
    /// Reserve an address: NAME=IP (repeatable).
    #[arg(long)]
    pub aux_address: Vec<String>,
    /// Enable IPv6.
    #[arg(long)]
    pub ipv6: bool,
    /// No external connectivity.
    #[arg(long)]
    pub internal: bool,
    /// Label KEY=VALUE (repeatable).
    #[arg(long)]
    pub label: Vec<String>,
    /// Driver option KEY=VALUE (repeatable).
    #[arg(short = 'o', long = "opt")]
    pub opt: Vec<String>,
    /// Accepted for Docker compatibility (every berth network is attachable).
    #[arg(long)]
    pub attachable: bool,
}

/// `network connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// IPv4 address on that network.
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address on that network.
    #[arg(long)]
    pub ip6: Option<String>,
    /// DNS alias on that network (repeatable).
    #[arg(long)]
    pub alias: Vec<String>,
    /// Network.
    pub network: String,
    /// Container.
    pub container: String,
}

/// `run`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Run in the background and print the container id.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Container name.
    #[arg(long)]
    pub name: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Connect to a network (repeatable; default: bridge).
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// Publish a port: [IP:][HOSTPORT:]PORT[/PROTO] (repeatable).
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// IPv4 address on the first network.
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address on the first network.
    #[arg(long)]
    pub ip6: Option<String>,
    /// MAC address on the first network.
    #[arg(long)]
    pub mac_address: Option<String>,
    /// DNS alias on the first network (repeatable).
    #[arg(long, alias = "alias")]
    pub network_alias: Vec<String>,
    /// Environment variable KEY=VALUE or KEY (repeatable).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Upstream DNS server (repeatable).
    #[arg(long)]
    pub dns: Vec<String>,
    /// DNS search domain (repeatable).
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// resolv.conf option (repeatable).
    #[arg(long, alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Extra /etc/hosts entry NAME:IP, IP may be host-gateway (repeatable).
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Root directory to pivot into (default: the host's files).
    #[arg(long)]
    pub rootfs: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Environment variable KEY=VALUE (repeatable).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Container.
    pub container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default: running only).
    #[arg(short, long)]
    pub all: bool,
    /// Only show ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Output: table, json, or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate output.
    #[arg(long)]
    pub no_trunc: bool,
}

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Containers or networks.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// A Go template or json.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Only this kind: container or network.
    #[arg(long = "type")]
    pub kind: Option<String>,
}

/// `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow the output.
    #[arg(short, long)]
    pub follow: bool,
    /// Container.
    pub container: String,
}

/// `stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing.
    #[arg(short, long, default_value_t = 10)]
    pub time: u64,
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Commands that take container names.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill running containers first.
    #[arg(short, long)]
    pub force: bool,
    /// Containers.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `system ...`.
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Finish half-done work and re-apply every bridge, rule and port.
    Reconcile,
    /// Show berth's state.
    Info {
        /// Output: text or json.
        #[arg(long)]
        format: Option<String>,
    },
    /// Remove every container, network and rule berth created.
    Reset {
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
}

/// `agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Synchronise once and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds between synchronisations when nothing changes.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
}

/// `tour`.
#[derive(Debug, Args)]
pub struct TourArgs {
    /// Do not pause between steps.
    #[arg(long)]
    pub no_pause: bool,
    /// Internal: already inside the throwaway namespace.
    #[arg(long, hide = true)]
    pub inside: bool,
}

/// `topology`.
#[derive(Debug, Args)]
pub struct TopologyArgs {
    /// Only these networks (and their containers); default: all.
    pub networks: Vec<String>,
    /// Output: text, json, dot (Graphviz) or svg.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8900", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Allow a non-loopback --listen address (the page shows the host's
    /// whole container network to anyone who can reach it).
    #[arg(long)]
    pub allow_remote: bool,
}

/// `trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Output: text or json.
    #[arg(long)]
    pub format: Option<String>,
    /// Seconds to wait for an answer.
    #[arg(long, default_value_t = 1.0)]
    pub timeout: f64,
    /// Where the packet starts: a container, host, or an IP address.
    pub from: String,
    /// Where it goes: CONTAINER|host|IP[:PORT][/tcp|udp|icmp], [IPv6]:PORT.
    pub to: String,
}
