//! berth-core: the engine behind every berth front-end.
//!
//! Layers, from pure to effectful:
//! - [`model`], [`ipam`], [`firewall`]: pure data, validation, address
//!   allocation and nftables rendering; unit- and golden-tested without root.
//! - [`kernel`]: the only code that changes kernel state (netlink,
//!   namespaces, sysctls, nftables transactions), behind the `Kernel`
//!   trait; [`observe`]: code that only looks at it (topology, doctor,
//!   trace).
//! - [`store`]: the embedded SQLite state store.
//! - [`engine`]: observe -> plan -> record intent -> apply -> commit, with
//!   rollback on failure and reconciliation of half-done work.
#![deny(missing_docs)]

pub mod config;
pub mod drivers;
pub mod engine;
pub mod error;
pub mod failpoint;
pub mod firewall;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod ipam;
pub mod kernel;
pub mod model;
pub mod observe;
pub mod paths;
pub mod plan;
pub mod store;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
