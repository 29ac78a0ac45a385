//! Container commands' flags: `run`, `exec`, `ps`, `inspect`, `logs`, `stop`, `start`, `rm`.

use clap::Args;
use std::path::PathBuf;

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
    /// Container NIS domain name.
    #[arg(long)]
    pub domainname: Option<String>,
    /// Connect to a network (repeatable; default: bridge): NAME, host,
    /// none, container:NAME, or
    /// name=NAME[,alias=A][,ip=IPv4][,ip6=IPv6][,mac-address=MAC][,driver-opt=K=V][,gw-priority=N].
    #[arg(long, alias = "net", value_name = "NETWORK")]
    pub network: Vec<String>,
    /// Publish a port: [IP:][HOSTPORT:]PORT[/PROTO] (repeatable).
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish every exposed port (--expose) to a random host port.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range of ports: PORT[-PORT][/PROTO] (repeatable).
    #[arg(long, value_name = "PORT")]
    pub expose: Vec<String>,
    /// Network sysctl in the container's namespace: net.KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
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
    /// Set metadata on the container: KEY=VALUE or KEY (repeatable).
    #[arg(short = 'l', long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
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
    /// Root directory to pivot into (default: a read-only view of the host's files).
    #[arg(long)]
    pub rootfs: Option<PathBuf>,
    /// Mount the --rootfs read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Bind-mount a host path: HOST:CONTAINER[:ro|rw] (repeatable).
    #[arg(short = 'v', long = "volume", value_name = "HOST:CTR[:ro]")]
    pub volume: Vec<String>,
    /// Add a Linux capability: NET_ADMIN, CAP_NET_ADMIN or ALL (repeatable).
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability, or ALL (repeatable).
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Every capability, no seccomp filter, nothing masked, the host's /dev.
    #[arg(long)]
    pub privileged: bool,
    /// no-new-privileges[=true|false] or seccomp=unconfined (repeatable).
    #[arg(long, value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Log file option (repeatable): max-size=SIZE (default 10m), max-file=N
    /// (default 2); the oldest output is dropped past them.
    #[arg(long, value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// The command and its arguments. Options come first: the first word
    /// that is not an option starts the command, and everything after it
    /// is the command's (Docker's rule); an unknown option before it is an
    /// error, not the command (no `allow_hyphen_values`).
    #[arg(required = true, trailing_var_arg = true, num_args = 1..)]
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
    /// Only containers matching KEY=VALUE (repeatable): name= and id=
    /// (regular expressions), network=NAME|ID, status=created|running|
    /// exited (implies -a), label=KEY[=VALUE].
    #[arg(short, long, value_name = "KEY=VALUE", value_parser = super::filter_value)]
    pub filter: Vec<String>,
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
