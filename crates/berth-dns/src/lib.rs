//! berth's embedded DNS resolver.
//!
//! One process serves every DNS-enabled network: it listens (UDP and TCP)
//! on each such network's gateway addresses, and containers' `resolv.conf`
//! name their network's gateway. Containers resolve each other by name,
//! alias, short or full id, hostname and `name.network` — but only on the
//! networks they share; every other name goes to upstream resolvers.
//!
//! - [`Snapshot`] is the input, written by berth's engine as JSON;
//! - [`Resolver`] indexes it and decides, purely, who may ask (endpoints of
//!   the network whose gateway the query reached; anyone else is refused)
//!   and who may see which name;
//! - [`request::handle`] turns a packet into a reply or a forward;
//! - [`Server`] / [`serve`] run it: listeners per gateway, forwarding with
//!   a bounded timeout, [`budget`]s per container and per network for
//!   forwards and TCP connections, and a [`control`] socket whose `reload`
//!   request makes a new snapshot live before it answers.
//!
//! ```no_run
//! use berth_dns::{serve, shutdown_signal, ServerConfig};
//! fn main() -> Result<(), berth_dns::Error> {
//!     let config = ServerConfig::new("/run/berth/dns.json", "/run/berth/dns.sock");
//!     serve(config, shutdown_signal())
//! }
//! ```

pub mod budget;
pub mod control;
mod error;
pub mod forward;
#[doc(hidden)]
pub mod fuzzing;
pub mod idle;
pub mod journal;
mod listeners;
pub mod names;
pub mod request;
mod resolver;
mod server;
mod snapshot;
mod tcp;
mod udp;
pub mod upstream;

pub use error::Error;
pub use listeners::Listener;
pub use resolver::{Client, Outcome, Resolver};
pub use server::{run, serve, shutdown_signal, Server, ServerConfig, ServerHandle};
pub use snapshot::{EndpointRec, NetworkRec, Snapshot, Upstream, DNS_PORT, SNAPSHOT_VERSION};
