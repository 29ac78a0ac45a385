//! The embedded DNS, from the engine's side: the snapshot of who may resolve
//! what (built from the store), and keeping the one resolver process
//! (`berth __dns`, see the berth-dns crate) running and in step.
//!
//! After every change that affects a DNS-enabled network (a container
//! created, started, stopped, removed, connected or disconnected), the engine
//! appends the container's change to the journal beside the snapshot (its
//! endpoints now, read from its own records: `berth_dns::journal`) and asks
//! the resolver to reload through its control socket; the reload answers
//! only once the new names are live, so they resolve on the very next
//! query. The whole snapshot is written (atomically) when there is none yet,
//! after recovery and reconcile, when the resolver is not running or did
//! not take the change, and when the journal has grown to the snapshot's
//! size. If the resolver is not running (first use, killed, reboot) the
//! engine starts it and waits until it answers; once it has had no name
//! to serve for a while it leaves on its own (`berth_dns::idle`). Its own watchdog restarts
//! it if it dies between commands; it reads the snapshot and the journal.

use super::files;
use super::Engine;
use crate::error::{Error, Result};
use crate::model::validate::HostTarget;
use crate::model::{Container, ContainerState, Endpoint, Network};
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
pub(super) fn reaches_out<'a>(nets: &[Network], eps: &'a [Endpoint]) -> HashSet<&'a str> {
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

/// A new generation: the time in nanoseconds (newer than every earlier
/// snapshot and delta).
pub(super) fn generation() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What the resolver knows of DNS-enabled network `n`.
pub(super) fn network_rec(n: &Network) -> NetworkRec {
    NetworkRec {
        id: n.id.clone(),
        name: n.name.clone(),
        dns: true,
        gateways: crate::drivers::bridge::bridge_gateways(n).collect(),
        internal: n.internal,
        subnets: n.ipam.iter().map(|c| c.subnet.trunc()).collect(),
    }
}

/// What the resolver knows of container `c`'s endpoint `e`; `external`:
/// it reaches beyond its networks ([`reaches_out`]).
pub(super) fn endpoint_rec(c: &Container, e: &Endpoint, external: bool) -> EndpointRec {
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

    /// Writes the snapshot and makes the resolver serve it (starting it if
    /// needed).
    pub fn publish_dns(&mut self) -> Result<()> {
        let _lock = self.dns_publish_lock()?;
        self.publish_locked()
    }

    /// [`Engine::publish_dns`], under the publish lock.
    pub(super) fn publish_locked(&mut self) -> Result<()> {
        let snap = self.dns_snapshot()?;
        let path = self.dns_snapshot_path();
        snap.store(&path)
            .map_err(|e| Error::internal(format!("cannot write the DNS snapshot: {e}")))?;
        // The journal's changes are in the new snapshot (and older than it:
        // a resolver reading them before they are gone skips them).
        let _ = std::fs::remove_file(berth_dns::journal::journal_path(&path));
        let sock = self.dns_control_path();
        if snap.endpoints.is_empty() {
            // Nobody to serve: a running resolver serves nothing and leaves
            // on its own once idle (`berth_dns::idle`); none is started,
            // and one that cannot take the snapshot is stopped.
            if berth_dns::control::reload(&sock, Duration::from_secs(3)).is_err() {
                self.stop_resolver();
            }
            return Ok(());
        }
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
        // With `--domainname`, Docker's line is `IP host.domain host`.
        let names = match c.config.domainname.as_str() {
            "" => c.config.hostname.clone(),
            d => format!("{0}.{d} {0}", c.config.hostname),
        };
        let hosts = files::render_hosts(&names, &addrs, &extra);
        let embedded = eps
            .iter()
            .find_map(|e| {
                nets.iter()
                    .find(|n| n.id == e.network_id && n.dns_enabled())
            })
            .and_then(|n| {
                crate::drivers::bridge::bridge_gateways(n)
                    .next()
                    .map(|g| vec![g.to_string()])
            });
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
            .flat_map(crate::drivers::bridge::bridge_gateways)
            .collect();
        Ok(DnsStatus {
            running: generation.is_some(),
            generation,
            listen,
        })
    }
}
