//! The embedded DNS, from the engine's side: the snapshot of who may resolve
//! what (built from the store), and keeping the one resolver process
//! (`berth __dns`, see the berth-dns crate) running and in step.
//!
//! After every change that affects a DNS-enabled network (a container
//! created, started, stopped, removed, connected or disconnected), the engine
//! writes the snapshot atomically and asks the resolver to reload it through
//! its control socket; the reload answers only once the new names are live,
//! so they resolve on the very next query. If the resolver is not running
//! (first use, killed, reboot) the engine starts it and waits until it
//! answers. Its own watchdog restarts it if it dies between commands.

use super::files;
use super::Engine;
use crate::error::{Error, Result};
use crate::model::validate::HostTarget;
use crate::model::{Container, ContainerState, Endpoint, Network};
use berth_dns::journal::Delta;
use berth_dns::{EndpointRec, NetworkRec, Snapshot, Upstream, SNAPSHOT_VERSION};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the resolver's files live and how it is doing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DnsStatus {
    /// The resolver answers on its control socket.
    pub running: bool,
    /// Generation of the snapshot it serves.
    pub generation: Option<u64>,
    /// Gateways it should listen on (port 53).
    pub listen: Vec<IpAddr>,
}

/// The host's resolvers a container can reach (loopback ones dropped), from
/// the resolv.conf at `path`.
pub fn host_upstreams(path: &std::path::Path) -> Vec<Upstream> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .filter(|ip| !ip.is_loopback())
        .map(Upstream::from)
        .collect()
}

/// The containers that reach beyond their networks: those with an
/// endpoint on a network that is not `--internal` (DNS-enabled or not, the
/// default bridge and macvlan included). The resolver forwards only for
/// them (Docker's rule); the others may resolve only their networks' names.
fn reaches_out<'a>(nets: &[Network], eps: &'a [Endpoint]) -> HashSet<&'a str> {
    let open: HashSet<&str> = nets
        .iter()
        .filter(|n| !n.internal && n.driver.has_endpoints())
        .map(|n| n.id.as_str())
        .collect();
    eps.iter()
        .filter(|e| open.contains(e.network_id.as_str()))
        .map(|e| e.container_id.as_str())
        .collect()
}

/// The journal stays under this size whatever the snapshot's (it is
/// rewritten into the snapshot beyond it, or beyond the snapshot's size).
const JOURNAL_MIN: u64 = 256 * 1024;

/// A new generation: the time in nanoseconds (newer than every earlier
/// snapshot and delta).
fn generation() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What the resolver knows of DNS-enabled network `n`.
fn network_rec(n: &Network) -> NetworkRec {
    NetworkRec {
        id: n.id.clone(),
        name: n.name.clone(),
        dns: true,
        gateways: n.ipam.iter().map(|c| c.gateway).collect(),
        internal: n.internal,
        subnets: n.ipam.iter().map(|c| c.subnet.trunc()).collect(),
    }
}

/// What the resolver knows of container `c`'s endpoint `e`; `external`:
/// it reaches beyond its networks ([`reaches_out`]).
fn endpoint_rec(c: &Container, e: &Endpoint, external: bool) -> EndpointRec {
    EndpointRec {
        container_id: c.id.clone(),
        name: c.name.clone(),
        hostname: c.config.hostname.clone(),
        network_id: e.network_id.clone(),
        aliases: e.aliases.clone(),
        ipv4: e.ipv4.and_then(|n| match n.addr() {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }),
        ipv6: e.ipv6.and_then(|n| match n.addr() {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }),
        external: Some(external),
        dns: c.config.dns.iter().filter_map(|s| s.parse().ok()).collect(),
        dns_search: c.config.dns_search.clone(),
        dns_options: c.config.dns_options.clone(),
    }
}

impl Engine {
    /// The resolver's snapshot file.
    pub fn dns_snapshot_path(&self) -> PathBuf {
        self.paths.run.join("dns").join("snapshot.json")
    }

    /// The resolver's control socket.
    pub fn dns_control_path(&self) -> PathBuf {
        self.paths.run.join("dns").join("control.sock")
    }

    /// Builds the snapshot from the store: DNS-enabled networks and the
    /// endpoints of containers that are not exited, with what the resolver
    /// needs to answer only them and not to forward for containers
    /// confined to `--internal` networks.
    pub fn dns_snapshot(&mut self) -> Result<Snapshot> {
        let (nets, containers, eps) = self
            .store
            .read(|tx| Ok((tx.networks()?, tx.containers()?, tx.endpoints()?)))?;
        let networks: Vec<NetworkRec> = nets
            .iter()
            .filter(|n| n.dns_enabled())
            .map(network_rec)
            .collect();
        let external = reaches_out(&nets, &eps);
        let live: HashMap<&str, &Container> = containers
            .iter()
            .filter(|c| c.state != ContainerState::Exited)
            .map(|c| (c.id.as_str(), c))
            .collect();
        let served: HashSet<&str> = networks.iter().map(|n| n.id.as_str()).collect();
        let mut endpoints = Vec::new();
        for e in eps
            .iter()
            .filter(|e| served.contains(e.network_id.as_str()))
        {
            let Some(c) = live.get(e.container_id.as_str()) else {
                continue;
            };
            endpoints.push(endpoint_rec(c, e, external.contains(c.id.as_str())));
        }
        // Containers of other hosts on this host's overlay networks.
        endpoints.extend(
            self.overlay_dns_endpoints()
                .into_iter()
                .filter(|e| served.contains(e.network_id.as_str())),
        );
        Ok(Snapshot {
            version: SNAPSHOT_VERSION,
            generation: generation(),
            host_upstreams: host_upstreams(&self.config.resolv_conf),
            networks,
            endpoints,
        })
    }

    /// What the resolver serves for container `id` now (nothing when it is
    /// exited or gone), as a change to its snapshot: read from the
    /// container's own records, whatever else the store holds.
    pub fn dns_delta(&mut self, id: &str) -> Result<Delta> {
        let (c, eps, nets) = self.store.read(|tx| {
            let c = tx.container(id)?.filter(|c| c.id == id);
            let (eps, nets) = match &c {
                Some(c) => tx.container_attachments(&c.id)?,
                None => (Vec::new(), Vec::new()),
            };
            Ok((c, eps, nets))
        })?;
        let served: Vec<&Network> = nets.iter().filter(|n| n.dns_enabled()).collect();
        let external = reaches_out(&nets, &eps);
        let endpoints = match &c {
            Some(c) if c.state != ContainerState::Exited => eps
                .iter()
                .filter(|e| served.iter().any(|n| n.id == e.network_id))
                .map(|e| endpoint_rec(c, e, external.contains(c.id.as_str())))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Delta {
            generation: generation(),
            container_id: id.to_string(),
            networks: served.into_iter().map(network_rec).collect(),
            endpoints,
        })
    }

    /// Brings the resolver in step after a change to container `id` on
    /// `networks` (those it was or is on); does nothing unless one of them
    /// is DNS-enabled. Sends the resolver the container's change (a line of
    /// its journal) rather than the whole snapshot; the whole snapshot
    /// when the resolver is not running, the snapshot is missing or the
    /// journal has grown to its size.
    pub(crate) fn sync_dns(&mut self, id: &str, networks: &[Network]) -> Result<()> {
        if !networks.iter().any(Network::dns_enabled) {
            return Ok(());
        }
        let _lock = self.dns_publish_lock()?;
        let snapshot = self.dns_snapshot_path();
        let journal = berth_dns::journal::journal_path(&snapshot);
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).ok();
        let compact = match (size(&snapshot), size(&journal).unwrap_or(0)) {
            (None, _) => true,
            (Some(s), j) => j > s.max(JOURNAL_MIN),
        };
        if !compact {
            let delta = self.dns_delta(id)?;
            berth_dns::journal::append(&journal, &delta)
                .map_err(|e| Error::internal(format!("cannot write the DNS journal: {e}")))?;
            // The resolver answers with the generation it serves now: ours,
            // unless it is not running or did not take it.
            let sock = self.dns_control_path();
            match berth_dns::control::reload(&sock, Duration::from_secs(3)) {
                Ok(g) if g == delta.generation => return Ok(()),
                _ => {}
            }
        }
        self.publish_locked()
    }

    /// Brings the resolver in step after a change to container `id` (best
    /// effort: a DNS failure is reported, not fatal to the operation).
    pub(crate) fn sync_dns_for(&mut self, id: &str) {
        let nets = self.store.read(|tx| Ok(tx.container_attachments(id)?.1));
        if let Err(e) = nets.and_then(|n| self.sync_dns(id, &n)) {
            tracing::warn!("embedded DNS: {e}");
        }
    }

    /// Takes the lock every publisher holds while it computes and sends
    /// what the resolver serves: the last berth to publish always serves
    /// what was last committed.
    fn dns_publish_lock(&self) -> Result<nix::fcntl::Flock<std::fs::File>> {
        let dir = self.paths.run.join("dns");
        std::fs::create_dir_all(&dir)?;
        let lock_path = dir.join("publish.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::internal(format!("cannot lock {}: {e}", lock_path.display())))
    }

    /// Writes the snapshot and makes the resolver serve it (starting it if
    /// needed).
    pub fn publish_dns(&mut self) -> Result<()> {
        let _lock = self.dns_publish_lock()?;
        self.publish_locked()
    }

    /// [`Engine::publish_dns`], under the publish lock.
    fn publish_locked(&mut self) -> Result<()> {
        let snap = self.dns_snapshot()?;
        let path = self.dns_snapshot_path();
        snap.store(&path)
            .map_err(|e| Error::internal(format!("cannot write the DNS snapshot: {e}")))?;
        // The journal's changes are in the new snapshot (and older than it:
        // a resolver reading them before they are gone skips them).
        let _ = std::fs::remove_file(berth_dns::journal::journal_path(&path));
        if snap.endpoints.is_empty() {
            // Nobody to serve: the resolver exits (the next container that
            // needs it starts it again).
            self.stop_resolver();
            return Ok(());
        }
        let sock = self.dns_control_path();
        match berth_dns::control::reload(&sock, Duration::from_secs(3)) {
            Ok(_) => return Ok(()),
            // A resolver of an older berth, still running after an upgrade:
            // it cannot serve this snapshot's rules; replace it.
            Err(berth_dns::Error::OutdatedResolver(..)) => self.stop_resolver(),
            Err(_) => {}
        }
        self.start_resolver()?;
        berth_dns::control::reload(&sock, Duration::from_secs(3))
            .map(|_| ())
            .map_err(|e| {
                Error::internal(format!("the DNS resolver did not take the new names: {e}"))
            })
    }

    /// Starts the resolver through the engine's launcher and waits until
    /// it answers. Called under the publish lock.
    fn start_resolver(&mut self) -> Result<()> {
        let launch =
            self.config.resolver.clone().ok_or_else(|| {
                Error::internal("this engine has no way to start the DNS resolver")
            })?;
        launch(&self.paths.state)?;
        let sock = self.dns_control_path();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if berth_dns::control::ping(&sock, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            // The resolver answers a few ms after it is spawned; a finer
            // poll than that is what `network connect` waits for.
            std::thread::sleep(Duration::from_millis(1));
        }
        Err(Error::internal(
            "the DNS resolver did not start within 5 s (see 'berth system info')",
        ))
    }

    /// (Re)writes a container's hosts, hostname and resolv.conf: on a
    /// DNS-enabled network resolv.conf names that network's gateway (the
    /// embedded resolver); otherwise the host's resolvers or `--dns`.
    pub(crate) fn write_etc_files(&mut self, c: &Container) -> Result<()> {
        let (eps, nets) = self.store.read(|tx| tx.container_attachments(&c.id))?;
        let addrs: Vec<IpAddr> = eps
            .iter()
            .flat_map(|e| [e.ipv4, e.ipv6])
            .flatten()
            .map(|n| n.addr())
            .collect();
        let gateway = |v6: bool| {
            let net = eps
                .iter()
                .find_map(|e| nets.iter().find(|n| n.id == e.network_id && !n.internal));
            net.and_then(|n| n.ipam.iter().find(|i| i.subnet.addr().is_ipv6() == v6))
                .map(|i| i.gateway)
        };
        let extra: Vec<(String, IpAddr)> = c
            .config
            .add_hosts
            .iter()
            .filter_map(|h| crate::model::validate::add_host(h).ok())
            .filter_map(|(name, target)| {
                let ip = match target {
                    HostTarget::Gateway => gateway(false)?,
                    HostTarget::Ip(ip) => ip,
                };
                Some((name.to_string(), ip))
            })
            .collect();
        let hosts = files::render_hosts(&c.config.hostname, &addrs, &extra);
        let embedded = eps
            .iter()
            .find_map(|e| {
                nets.iter()
                    .find(|n| n.id == e.network_id && n.dns_enabled())
            })
            .and_then(|n| n.ipam.first().map(|i| vec![i.gateway.to_string()]));
        let embedded_dns = embedded.is_some();
        let nameservers =
            embedded.or_else(|| (!c.config.dns.is_empty()).then(|| c.config.dns.clone()));
        let host_resolv = std::fs::read_to_string(&self.config.resolv_conf).unwrap_or_default();
        // Like Docker: with the embedded resolver, single-label names are
        // tried as they are first (ndots:0), so a container name is never
        // shadowed by the host's search domains.
        let ndots0 = vec!["ndots:0".to_string()];
        let options = if embedded_dns && c.config.dns_options.is_empty() {
            &ndots0
        } else {
            &c.config.dns_options
        };
        let over = files::ResolvConf {
            nameservers,
            search: &c.config.dns_search,
            options,
        };
        let resolv = files::render_resolv_conf(&host_resolv, &over);
        files::write_all(
            &self.paths.container_dir(&c.id),
            &c.config.hostname,
            &hosts,
            &resolv,
        )
    }

    /// Stops the resolver and its watchdog (by the PIDs they recorded),
    /// for `berth system reset`.
    pub(crate) fn stop_resolver(&mut self) {
        let dir = self.paths.run.join("dns");
        let mut pids = Vec::new();
        for file in ["watchdog.pid", "resolver.pid"] {
            let pid = std::fs::read_to_string(dir.join(file))
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok());
            let Some(pid) = pid else { continue };
            // Only a process that is still berth's resolver (not a reused PID).
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("__dns") {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::SIGTERM,
                );
                pids.push(pid);
            }
        }
        // Wait (briefly) until they are gone, so callers see a clean host.
        let deadline = Instant::now() + Duration::from_secs(2);
        // They exit within ~1 ms of SIGTERM: poll finely (a 5 ms poll made
        // the last `network disconnect` from a DNS network wait 5 ms).
        while Instant::now() < deadline && pids.iter().any(|p| self.kernel.alive(*p, None)) {
            std::thread::sleep(Duration::from_micros(500));
        }
        let _ = std::fs::remove_file(dir.join("watchdog.pid"));
        let _ = std::fs::remove_file(dir.join("resolver.pid"));
    }

    /// The resolver's state, for `berth system info` and `doctor`.
    pub fn dns_status(&mut self) -> Result<DnsStatus> {
        let generation =
            berth_dns::control::ping(&self.dns_control_path(), Duration::from_millis(500)).ok();
        let listen = self
            .networks()?
            .iter()
            .filter(|n| n.dns_enabled())
            .flat_map(|n| n.ipam.iter().map(|c| c.gateway))
            .collect();
        Ok(DnsStatus {
            running: generation.is_some(),
            generation,
            listen,
        })
    }
}
