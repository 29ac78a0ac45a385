//! The long-lived resolver: configuration, startup, reload and shutdown.
//!
//! Why our own tokio loops on hickory-proto rather than hickory-server:
//! the answer depends on the address a query *arrived on* (it names the
//! network), so each gateway needs its own socket anyway; local answers
//! are computed inline in the receive loop without a task per query or the
//! request-handler indirection; forwarding is a raw pass-through of the
//! client's bytes (only the id rewritten), which hickory-server's
//! forwarder would re-encode; and listeners come and go on every reload.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::UnixListener;

use crate::budget::{Budget, Caps};
use crate::idle::{self, IdleExit};
use crate::journal;
use crate::listeners::{Listener, ListenerSet};
use crate::resolver::Resolver;
use crate::snapshot::{Snapshot, DNS_PORT, SNAPSHOT_VERSION};
use crate::upstream::Upstreams;
use crate::{control, Error};

/// How the resolver runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The snapshot file written by the engine.
    pub snapshot_path: PathBuf,
    /// The Unix control socket (`reload`, `ping`), created at startup.
    pub control_socket: PathBuf,
    /// Port to listen on at every gateway (53; tests use high ports).
    pub port: u16,
    /// Total time allowed to forward one query across all upstreams;
    /// after it the client gets SERVFAIL.
    pub upstream_timeout: Duration,
    /// A TCP connection idle (or stalled mid-message) this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Forwarded queries in flight at most, in all; UDP queries over any
    /// of the three forward caps are dropped (the client retries), TCP
    /// ones answered REFUSED (as Docker does over its cap).
    pub max_forwards: usize,
    /// Forwarded queries in flight at most for the queries arriving on one
    /// network's gateways.
    pub max_forwards_per_network: usize,
    /// Forwarded queries in flight at most for one container (all its
    /// addresses and networks together).
    pub max_forwards_per_container: usize,
    /// TCP connections at most, in all; new connections over any of the
    /// three TCP caps are closed.
    pub max_tcp_connections: usize,
    /// TCP connections at most to one network's gateways.
    pub max_tcp_per_network: usize,
    /// TCP connections at most from one container.
    pub max_tcp_per_container: usize,
    /// Receive loops per UDP socket.
    pub udp_workers: usize,
    /// Leave after serving no name for a while (see [`crate::idle`]);
    /// `None`: serve until shut down.
    pub idle_exit: Option<IdleExit>,
}

impl ServerConfig {
    /// A configuration with the defaults: port 53, 2 s upstream timeout,
    /// 10 s TCP idle timeout; forwards in flight: 64 per container, 256
    /// per network, 1024 in all; TCP connections: 16 per container, 64 per
    /// network, 256 in all.
    pub fn new(snapshot_path: impl Into<PathBuf>, control_socket: impl Into<PathBuf>) -> Self {
        ServerConfig {
            snapshot_path: snapshot_path.into(),
            control_socket: control_socket.into(),
            port: DNS_PORT,
            upstream_timeout: Duration::from_secs(2),
            tcp_idle_timeout: Duration::from_secs(10),
            max_forwards: 1024,
            max_forwards_per_network: 256,
            max_forwards_per_container: 64,
            max_tcp_connections: 256,
            max_tcp_per_network: 64,
            max_tcp_per_container: 16,
            udp_workers: 1,
            idle_exit: None,
        }
    }

    /// The caps on forwarded queries in flight.
    pub(crate) fn forward_caps(&self) -> Caps {
        Caps {
            per_container: self.max_forwards_per_container,
            per_network: self.max_forwards_per_network,
            total: self.max_forwards,
        }
    }

    /// The caps on TCP connections.
    pub(crate) fn tcp_caps(&self) -> Caps {
        Caps {
            per_container: self.max_tcp_per_container,
            per_network: self.max_tcp_per_network,
            total: self.max_tcp_connections,
        }
    }
}

/// State shared by every listener task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) resolver: ArcSwap<Resolver>,
    /// What the whole resolver holds (forwards, TCP connections).
    pub(crate) total: Arc<Budget>,
    pub(crate) upstreams: Upstreams,
    listeners: Mutex<ListenerSet>,
    /// The snapshot as loaded and brought up to date; also makes reloads
    /// one at a time.
    loaded: tokio::sync::Mutex<Loaded>,
}

/// A file's device, inode, size and modification time (s, ns).
type FileKey = (u64, u64, u64, i64, i64);

/// What the resolver has read of its files.
#[derive(Debug, Default)]
struct Loaded {
    /// The snapshot with the journal's deltas applied.
    snapshot: Snapshot,
    /// The snapshot file read, kept open (while it is, its inode cannot
    /// be reused: another inode at the path is another snapshot), and its
    /// device, inode, size and modification time when it was read (a file
    /// rewritten in place is read again too).
    file: Option<(std::fs::File, FileKey)>,
    /// How far the journal has been read.
    offset: u64,
}

impl Loaded {
    /// Brings the snapshot up to date with the file at `path` and the
    /// journal beside it: the whole snapshot again only if it is another
    /// file than the one read (the journal is new then too).
    fn refresh(&mut self, path: &std::path::Path) -> Result<(), Error> {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let key = |m: std::fs::Metadata| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec());
        let now = std::fs::metadata(path).ok().map(key);
        let held = self.file.as_ref().map(|(_, k)| *k);
        if now.is_none() || now != held {
            let err = |e| Error::SnapshotRead(path.to_path_buf(), e);
            let (snapshot, file) = match std::fs::File::open(path) {
                Ok(mut f) => {
                    let k = key(f.metadata().map_err(err)?);
                    let mut text = String::new();
                    f.read_to_string(&mut text).map_err(err)?;
                    (Snapshot::from_json(&text)?, Some((f, k)))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Snapshot::default(), None),
                Err(e) => return Err(Error::SnapshotRead(path.to_path_buf(), e)),
            };
            self.snapshot = snapshot;
            self.file = file;
            self.offset = 0;
        }
        let journal = journal::journal_path(path);
        let (deltas, offset) = journal::read_from(&journal, self.offset)?;
        for d in &deltas {
            self.snapshot.apply(d);
        }
        self.offset = offset;
        Ok(())
    }
}

impl Shared {
    fn listeners(&self) -> MutexGuard<'_, ListenerSet> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle on a running resolver (cheap to clone).
#[derive(Debug, Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl ServerHandle {
    /// Re-reads the snapshot (only its journal's new lines when the
    /// snapshot file is the one already read), makes it live, and listens on exactly its
    /// gateways. Returns the new generation once the next query will see
    /// it. A snapshot that cannot be read or parsed leaves the old one
    /// live; addresses that cannot be bound are reported (the snapshot is
    /// live for the others).
    pub async fn reload(&self) -> Result<u64, Error> {
        let shared = &self.shared;
        let mut loaded = shared.loaded.lock().await;
        loaded.refresh(&shared.config.snapshot_path)?;
        let snapshot = &loaded.snapshot;
        if snapshot.version > SNAPSHOT_VERSION {
            tracing::warn!(
                version = snapshot.version,
                "snapshot newer than this resolver: served with what it knows"
            );
        }
        let mut resolver = Resolver::new(snapshot);
        resolver.carry_budgets(&shared.resolver.load());
        let resolver = Arc::new(resolver);
        let generation = resolver.generation();
        shared.resolver.store(resolver.clone());
        shared.upstreams.retain(&resolver.upstreams());
        let failures = shared
            .listeners()
            .sync(resolver.listen_addrs(), shared.config.port, shared);
        if failures.is_empty() {
            Ok(generation)
        } else {
            Err(Error::Listen(failures))
        }
    }

    /// How many endpoints the live snapshot has.
    pub async fn names(&self) -> usize {
        self.shared.loaded.lock().await.snapshot.endpoints.len()
    }

    /// The generation of the live snapshot.
    pub fn generation(&self) -> u64 {
        self.shared.resolver.load().generation()
    }

    /// The addresses listened on now (UDP and TCP).
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.shared.listeners().addrs()
    }
}

/// A resolver that is listening, not yet serving its control socket.
#[derive(Debug)]
pub struct Server {
    handle: ServerHandle,
    control: UnixListener,
}

impl Server {
    /// Loads the snapshot, binds the control socket and every gateway's
    /// listeners. Gateways that cannot be bound are logged and retried on
    /// the next reload. Must be called inside a tokio runtime.
    pub async fn bind(config: ServerConfig) -> Result<Server, Error> {
        Server::bind_with(config, Vec::new()).await
    }

    /// Like [`Server::bind`], but uses `prebound` listeners for their
    /// addresses instead of binding `config.port` there (tests bind their
    /// own, on any port, without root).
    pub async fn bind_with(config: ServerConfig, prebound: Vec<Listener>) -> Result<Server, Error> {
        let control = control::bind(&config.control_socket).await?;
        let listeners = ListenerSet::new(prebound)
            .map_err(|e| Error::Control(config.control_socket.clone(), e))?;
        let shared = Arc::new(Shared {
            total: Arc::default(),
            upstreams: Upstreams::default(),
            config,
            resolver: ArcSwap::from_pointee(Resolver::default()),
            listeners: Mutex::new(listeners),
            loaded: tokio::sync::Mutex::default(),
        });
        let handle = ServerHandle { shared };
        match handle.reload().await {
            Ok(_) | Err(Error::Listen(_)) => Ok(Server { handle, control }),
            Err(e) => {
                let _ = std::fs::remove_file(&handle.shared.config.control_socket);
                Err(e)
            }
        }
    }

    /// A handle for reloads and introspection.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Serves until `shutdown` completes (or, with an idle exit, until it
    /// has had no name to serve for its time), then stops every listener
    /// and removes the control socket.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Server { handle, control } = self;
        let idle_exit = handle.shared.config.idle_exit.clone();
        let idle = async {
            match idle_exit {
                Some(i) => idle::wait(handle.clone(), i).await,
                None => std::future::pending().await,
            }
        };
        let mut held = None;
        tokio::select! {
            () = control::serve(control, handle.clone()) => {}
            () = shutdown => {}
            lock = idle => held = Some(lock),
        }
        handle.shared.listeners().clear();
        let config = &handle.shared.config;
        let _ = std::fs::remove_file(&config.control_socket);
        if held.is_some() {
            for f in config.idle_exit.iter().flat_map(|i| &i.remove) {
                let _ = std::fs::remove_file(f);
            }
        }
        // Only now may a publisher go on: it finds no resolver.
        drop(held);
        Ok(())
    }
}

/// Binds and serves until `shutdown` completes (inside a tokio runtime).
pub async fn run(config: ServerConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    Server::bind(config).await?.run(shutdown).await
}

/// Runs the resolver on a runtime of its own until `shutdown` completes;
/// what `berth __dns` calls (with [`shutdown_signal`] for SIGTERM/SIGINT).
pub fn serve(config: ServerConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(run(config, shutdown))
}

/// Completes on SIGTERM or SIGINT (or at once if they cannot be watched).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
