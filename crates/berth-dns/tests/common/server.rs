//! The resolver running in-process on loopback, on its own runtime.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use berth_dns::{control, Error, Server, ServerConfig, ServerHandle, Snapshot};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// A resolver serving a snapshot file in a temporary directory.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub handle: ServerHandle,
    pub rt: Runtime,
    pub snapshot_path: PathBuf,
    pub control_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts on port 0 (a free port per gateway) with a short upstream
    /// timeout; `tweak` may change the configuration.
    pub fn start(snapshot: &Snapshot, tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Self::start_in(rt, snapshot, tweak)
    }

    /// Like [`TestServer::start`], on a runtime of the caller's (which may
    /// already run a fake upstream).
    pub fn start_in(
        rt: Runtime,
        snapshot: &Snapshot,
        tweak: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let snapshot_path = dir.path().join("dns.json");
        let control_path = dir.path().join("dns.sock");
        snapshot.store(&snapshot_path).unwrap();
        let mut config = ServerConfig::new(&snapshot_path, &control_path);
        config.port = 0;
        config.upstream_timeout = Duration::from_millis(500);
        config.tcp_idle_timeout = Duration::from_secs(2);
        tweak(&mut config);
        let server = rt.block_on(Server::bind(config)).unwrap();
        let handle = server.handle();
        let (stop, stopped) = oneshot::channel();
        rt.spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer {
            dir,
            handle,
            rt,
            snapshot_path,
            control_path,
            stop: Some(stop),
        }
    }

    /// Where the resolver listens for gateway `ip`.
    pub fn addr(&self, ip: &str) -> SocketAddr {
        self.handle
            .listen_addrs()
            .into_iter()
            .find(|a| a.ip().to_string() == ip)
            .unwrap_or_else(|| panic!("not listening on {ip}: {:?}", self.handle.listen_addrs()))
    }

    /// Writes `snapshot` and reloads through the control socket, as the
    /// engine does.
    pub fn reload(&self, snapshot: &Snapshot) -> Result<u64, Error> {
        snapshot.store(&self.snapshot_path).unwrap();
        control::reload(&self.control_path, Duration::from_secs(5))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
