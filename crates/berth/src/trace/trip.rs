//! The probe `berth trace` sends, and what was looked up around it (plain
//! data shared by the explanation and its reasons).

use super::spec::Proto;
use super::world::Lookup;
use std::net::IpAddr;

/// Where the probe starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromKind {
    /// A container; `internal` names its network when every network it is
    /// on is `--internal`.
    Container {
        /// Container name.
        name: String,
        /// Its only (internal) network.
        internal: Option<String>,
    },
    /// This host.
    Host,
    /// Another machine, arriving on `iface`.
    Outside {
        /// The host interface it arrives on.
        iface: String,
    },
}

/// The probe and what was looked up around it.
#[derive(Debug, Clone)]
pub struct Trip {
    /// FROM in words.
    pub from: String,
    /// TO in words.
    pub to: String,
    /// Source address (`None`: the kernel's choice).
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol.
    pub proto: Proto,
    /// Destination port.
    pub port: Option<u16>,
    /// The probe's source port (or echo id).
    pub sport: u16,
    /// Where it starts.
    pub kind: FromKind,
    /// The kernel's route lookup where the probe starts.
    pub source_route: Option<Lookup>,
    /// The host's route lookup for the packet as it arrives (after DNAT).
    pub host_route: Option<Lookup>,
    /// The published-port map element the destination matched, if any.
    pub element: Option<String>,
}
