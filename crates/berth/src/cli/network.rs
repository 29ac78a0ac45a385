//! `berth network ...` flags.

use clap::{Args, Subcommand};

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
        /// Only networks matching KEY=VALUE (repeatable): driver=, name=,
        /// id= (regular expressions for name and id), label=KEY[=VALUE],
        /// label!=, scope=local, type=custom|builtin, dangling=true|false.
        #[arg(short, long, value_name = "KEY=VALUE", value_parser = super::filter_value)]
        filter: Vec<String>,
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
        /// Only networks matching KEY=VALUE (repeatable): until=TIME (a
        /// duration like 24h, an RFC 3339 time or Unix seconds: created
        /// before it), label=KEY[=VALUE], label!=KEY[=VALUE].
        #[arg(long, value_name = "KEY=VALUE", value_parser = super::filter_value)]
        filter: Vec<String>,
    },
}

/// `network create`.
#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// Network name.
    pub name: String,
    /// Driver: bridge (Linux bridge with NAT), macvlan (-o parent=IFACE),
    /// ipvlan (-o parent=IFACE; needs the kernel's ipvlan) or overlay
    /// (VXLAN across hosts sharing --store). The host and none networks
    /// exist already and cannot be created again.
    #[arg(short, long, default_value = "bridge", value_name = "DRIVER")]
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
    /// Endpoint driver option KEY=VALUE (repeatable):
    /// com.docker.network.endpoint.ifname, com.docker.network.endpoint.sysctls.
    #[arg(long, value_name = "KEY=VALUE")]
    pub driver_opt: Vec<String>,
    /// Gateway priority: the network with the highest carries the default route.
    #[arg(long, allow_hyphen_values = true)]
    pub gw_priority: Option<i64>,
    /// Network.
    pub network: String,
    /// Container.
    pub container: String,
}
