//! The kernel layer: the only code in berth that changes kernel state.
//!
//! netlink (links, addresses, routes), network namespaces, sysctls and
//! nftables transactions. Everything above this module is pure planning or
//! bookkeeping.

pub mod caps;
pub mod conntrack;
pub mod emit;
pub mod encryption;
pub mod facts;
pub mod inject;
pub mod link_state;
pub mod linkmsg;
pub mod msg;
pub mod netlink;
pub mod netns;
pub mod netns_names;
pub mod nft;
pub mod nftnl;
pub mod nftrace;
pub mod observe;
pub mod packet;
pub mod probe;
pub mod route_get;
pub mod scratch;
pub mod sysctl;
pub mod tc;
pub mod vxlan;

pub use facts::HostFacts;
pub use netlink::{Netlink, Request};
pub use nft::Nft;

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
