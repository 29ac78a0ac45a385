//! Keeping the resolver in step, one container at a time: after a change
//! to a container on a DNS-enabled network, the container's change is
//! appended to the journal beside the snapshot (`berth_dns::journal`),
//! computed from its own records whatever else the store holds, and the
//! resolver reloads only the journal's new lines (see `dns.rs`).

use super::dns::{endpoint_rec, generation, network_rec, reaches_out};
use super::Engine;
use crate::error::{Error, Result};
use crate::model::{ContainerState, Network};
use berth_dns::journal::Delta;
use std::time::Duration;

/// The journal stays under this size whatever the snapshot's (it is
/// rewritten into the snapshot beyond it, or beyond the snapshot's size).
const JOURNAL_MIN: u64 = 256 * 1024;

impl Engine {
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
        let (journal, compact) = self.dns_journal();
        if !compact {
            let delta = self.dns_delta(id)?;
            berth_dns::journal::append(&journal, &delta)
                .map_err(|e| Error::internal(format!("cannot write the DNS journal: {e}")))?;
            // The resolver answers with the generation it serves now: ours,
            // unless it is not running or did not take it.
            let sock = self.dns_control_path();
            let r = berth_dns::control::reload(&sock, Duration::from_secs(3));
            // The last name gone, the resolver leaves on its own once idle
            // (`berth_dns::idle`): nobody waits for it here.
            if r.is_ok_and(|g| g == delta.generation) {
                return Ok(());
            }
        }
        self.publish_locked()
    }

    /// Sends the resolver `deltas` (other hosts' containers whose names
    /// changed: `overlay_follow.rs`) as journal lines; the whole snapshot
    /// when the resolver is not running or did not take them, the snapshot
    /// is missing or the journal has grown to its size.
    pub(super) fn sync_dns_deltas(&mut self, deltas: Vec<Delta>) -> Result<()> {
        let _lock = self.dns_publish_lock()?;
        let (journal, compact) = self.dns_journal();
        if let (false, Some(last)) = (compact, deltas.last()) {
            for d in &deltas {
                berth_dns::journal::append(&journal, d)
                    .map_err(|e| Error::internal(format!("cannot write the DNS journal: {e}")))?;
            }
            let sock = self.dns_control_path();
            let served = berth_dns::control::reload(&sock, Duration::from_secs(3));
            if served.is_ok_and(|g| g == last.generation) {
                return Ok(());
            }
        }
        self.publish_locked()
    }

    /// The resolver's journal, and whether the whole snapshot must be sent
    /// instead of a line of it: there is no snapshot yet, or the journal has
    /// grown past it.
    fn dns_journal(&self) -> (std::path::PathBuf, bool) {
        let snapshot = self.dns_snapshot_path();
        let journal = berth_dns::journal::journal_path(&snapshot);
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).ok();
        let compact = match (size(&snapshot), size(&journal).unwrap_or(0)) {
            (None, _) => true,
            (Some(s), j) => j > s.max(JOURNAL_MIN),
        };
        (journal, compact)
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
    pub(super) fn dns_publish_lock(&self) -> Result<nix::fcntl::Flock<std::fs::File>> {
        let dir = self.paths.run.join("dns");
        std::fs::create_dir_all(&dir)?;
        let lock_path = dir.join("publish.lock");
        let file = crate::paths::lock_file(&lock_path)?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::internal(format!("cannot lock {}: {e}", lock_path.display())))
    }
}
