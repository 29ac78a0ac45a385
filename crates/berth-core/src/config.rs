//! How an engine is set up: everything berth-core would otherwise read from
//! the environment. The front-end builds one [`Config`] (the `berth`
//! binary: from its flags and environment variables) and passes it to
//! [`crate::engine::Engine::open`]; the library itself reads no
//! environment variable.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Starts the embedded DNS resolver for the berth whose state root is the
/// given path (in its own session), returning once it is spawned. The
/// `berth` binary runs `berth __dns`; without a launcher, names cannot be
/// published to a resolver that is not running yet.
pub type ResolverLauncher = Arc<dyn Fn(&Path) -> crate::Result<()>>;

/// Starts a reaper of retired veths for the berth whose state root is the
/// given path, in the background, returning once it is spawned (the
/// `berth` binary runs `berth __reap`, which calls
/// [`crate::kernel::retire::reap_once`]). The reaper inherits the given
/// descriptors and holds them until it ends (see
/// `Kernel::lingering_fds`).
pub type ReaperLauncher = Arc<dyn Fn(&Path, &[std::os::fd::RawFd]) -> crate::Result<()>>;

/// An engine's settings.
#[derive(Clone)]
pub struct Config {
    /// The state root (`--root`); `None`: `/var/lib/berth` and `/run/berth`.
    pub root: Option<PathBuf>,
    /// The cluster store of overlay networks (`etcds://HOST:PORT,...`, or
    /// `etcd://` in labs).
    pub store: Option<String>,
    /// The files of the cluster store's TLS material and etcd user.
    pub store_credentials: crate::store::etcd_config::Credentials,
    /// The host's resolv.conf: its nameservers are the embedded DNS's
    /// upstreams and the resolvers of containers on other networks.
    pub resolv_conf: PathBuf,
    /// This host's tunnel endpoint on overlay networks (`None`: the
    /// address it reaches the cluster store from).
    pub advertise: Option<IpAddr>,
    /// The lease of this host's records in the cluster store, in seconds.
    pub cluster_ttl: i64,
    /// Emit the time of every applied step (at the `info` level of
    /// `tracing`).
    pub trace_steps: bool,
    /// Spawn `nft` instead of loading libnftables (and of the netlink
    /// path for elements).
    pub nft_spawn: bool,
    /// With the `failpoints` feature: the failpoint (`OP:STEP`) at which
    /// berth kills itself.
    pub failpoint: Option<String>,
    /// How to start the embedded DNS resolver.
    pub resolver: Option<ResolverLauncher>,
    /// How to start a reaper of retired veths in the background (see
    /// `kernel::retire`); `None`: the engine deletes them itself, waiting.
    pub reaper: Option<ReaperLauncher>,
    /// Read the host's routes (IPv6 ones too with `Some(true)`) on a
    /// thread of their own from the moment the engine opens, for a command
    /// that checks subnets against them (`network create`): the kernel's
    /// route dump, which grows with the host's bridges, then overlaps
    /// opening the store.
    pub routes_early: Option<bool>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            root: None,
            store: None,
            store_credentials: Default::default(),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            advertise: None,
            cluster_ttl: 15,
            trace_steps: false,
            nft_spawn: false,
            failpoint: None,
            resolver: None,
            reaper: None,
            routes_early: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("root", &self.root)
            .field("store", &self.store)
            .field("store_credentials", &self.store_credentials)
            .field("resolv_conf", &self.resolv_conf)
            .field("advertise", &self.advertise)
            .field("cluster_ttl", &self.cluster_ttl)
            .field("trace_steps", &self.trace_steps)
            .field("nft_spawn", &self.nft_spawn)
            .field("failpoint", &self.failpoint)
            .field("resolver", &self.resolver.is_some())
            .field("reaper", &self.reaper.is_some())
            .field("routes_early", &self.routes_early)
            .finish()
    }
}
