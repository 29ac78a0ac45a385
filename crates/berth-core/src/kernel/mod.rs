//! The kernel layer: the only code in berth that changes kernel state.
//!
//! netlink (links, addresses, routes), network namespaces, sysctls and
//! nftables transactions, behind the [`Kernel`] trait the engine drives
//! ([`Real`]; [`fake::Fake`] for tests). Everything above this module is
//! pure planning or bookkeeping; code that only looks at the kernel (for
//! `berth topology`, `doctor`, `trace`) is in [`crate::observe`].

pub mod anchor;
mod api;
pub mod apply;
pub mod caps;
pub mod conntrack;
pub mod encryption;
pub mod enter;
pub mod facts;
pub mod fake;
pub mod link_state;
pub mod linkmsg;
pub mod msg;
pub mod netlink;
pub mod netns;
pub mod netns_names;
pub mod nft;
pub mod nftevents;
pub mod nftnl;
pub mod process;
mod real;
pub mod reaper;
pub mod retire;
pub mod sysctl;
pub mod tc;
pub mod vxlan;

pub use api::{Kernel, NetnsName};
pub use apply::Applier;
pub use facts::{HostFacts, RoutesEarly};
pub use netlink::{Netlink, Request};
pub use nft::Nft;
pub use real::Real;

/// errno values the kernel layer treats as "already in the desired state".
pub mod errno {
    /// No such device.
    pub const ENODEV: i32 = libc::ENODEV;
    /// No such file or directory / object.
    pub const ENOENT: i32 = libc::ENOENT;
    /// Already exists.
    pub const EEXIST: i32 = libc::EEXIST;
    /// No such address.
    pub const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
}
