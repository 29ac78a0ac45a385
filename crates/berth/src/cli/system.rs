//! Flags of `system`, `agent`, `tour`, `topology`, `ui` and `trace`.

use clap::{Args, Subcommand};

/// `system ...`.
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Finish half-done work and re-apply every bridge, rule and port.
    Reconcile {
        /// First delete the record of operation ID, whose record is corrupt
        /// (see `berth doctor`; repeatable).
        #[arg(long, value_name = "ID")]
        forget_op: Vec<i64>,
    },
    /// Show berth's state.
    Info {
        /// Output: text or json.
        #[arg(long)]
        format: Option<String>,
    },
    /// This host routes by choice: keep the IP forwarding berth turned on
    /// (reset leaves it on) and stop dropping forwarded traffic between the
    /// host's own interfaces.
    KeepForwarding,
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
    /// On a host without overlay networks: only keep berth's firewall
    /// tables in place (re-applied from the store within a second after
    /// `nft flush ruleset`, an nftables restart or a firewalld reload).
    #[arg(long)]
    pub local: bool,
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

/// `docker-plugin`.
#[derive(Debug, Args)]
pub struct DockerPluginArgs {
    /// The socket to listen on (default: the one systemd passes, else
    /// /run/docker/plugins/berth.sock, where dockerd finds plugins).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<std::path::PathBuf>,
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
