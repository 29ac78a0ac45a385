//! # berth-cni: the CNI protocol, without side effects
//!
//! When the `berth` binary is executed with `CNI_COMMAND` in its
//! environment it is a CNI plugin (see `docs/cni.md`). This crate is the
//! protocol half of that plugin, and only that: it turns the environment and
//! the configuration on stdin into checked Rust values, and results and
//! errors back into the JSON of the version the runtime asked for. It never
//! touches the kernel, the store or the filesystem, so every input can be
//! unit-tested and fuzzed (`fuzz/`).
//!
//! - [`env`]: `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`,
//!   `CNI_ARGS`, `CNI_PATH`, validated per command (error code 4).
//! - [`config`]: one plugin configuration (the bridge keys of the reference
//!   `bridge` plugin, `ipam` with `host-local`'s keys, `runtimeConfig`
//!   capabilities, `args`, `prevResult`, `cni.dev/valid-attachments`).
//! - [`result`]: the ADD result, parsed from a `prevResult` in any supported
//!   version and rendered in the requested one.
//! - [`version`]: the versions berth speaks (0.3.0 to 1.1.0) and `VERSION`.
//! - [`CniError`]: the spec's error object and codes.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod config;
pub mod env;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ipam;
mod json;
pub mod result;
mod runtime;
pub mod version;

pub use config::{Attachment, BridgeConfig, PluginConfig, StoreConfig};
pub use env::{Command, Env};
pub use error::{code, CniError};
pub use ipam::{HostLocal, Ipam, Range, Route};
pub use result::{CniResult, Dns, Interface, IpConfig};
pub use runtime::{Bandwidth, PortMapping, RuntimeConfig, RuntimeDns};
pub use version::Version;
