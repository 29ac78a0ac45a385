//! The journal: changes to the snapshot, one container at a time.
//!
//! Rewriting the whole snapshot for every container that starts or stops
//! costs the size of the snapshot (3.9 MB with 10,000 names), so the engine
//! appends a [`Delta`] — "container C's endpoints are now exactly these" —
//! to the journal beside the snapshot (`snapshot.json` →
//! `snapshot.journal`, one JSON object per line) and asks the resolver to
//! reload. The resolver reads the snapshot again only when it is a new
//! file (the engine replaced it); otherwise it reads the journal from
//! where it stopped and applies the new lines.
//!
//! The snapshot stays the base for a restart and for recovery: a resolver
//! that starts reads the snapshot and then the whole journal. A delta
//! whose generation is not newer than the snapshot's is skipped, so a
//! journal left beside a newer snapshot (the engine writes the snapshot,
//! then removes the journal) changes nothing. The engine rewrites the
//! snapshot whole, and drops the journal, when the journal has grown to
//! the snapshot's size, so it stays bounded.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::snapshot::{EndpointRec, NetworkRec, Snapshot};
use crate::Error;

/// Longest journal line a resolver reads; a longer one (never written by
/// berth: a container has at most a few dozen endpoints) ends the read.
const MAX_LINE: usize = 1 << 20;

/// One container's records, replacing what the snapshot had for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// Newer than the snapshot's and every earlier delta's.
    pub generation: u64,
    /// The container whose endpoints these are.
    pub container_id: String,
    /// The networks of `endpoints` (added, or replacing those of the same
    /// id): a container may be the first on a network.
    #[serde(default)]
    pub networks: Vec<NetworkRec>,
    /// Every endpoint the resolver serves for the container now; empty
    /// when it serves none (stopped, removed, disconnected).
    #[serde(default)]
    pub endpoints: Vec<EndpointRec>,
}

impl Snapshot {
    /// Applies `d` (see [`Delta`]); a delta not newer than the snapshot
    /// changes nothing.
    pub fn apply(&mut self, d: &Delta) {
        if d.generation <= self.generation {
            return;
        }
        for n in &d.networks {
            match self.networks.iter_mut().find(|m| m.id == n.id) {
                Some(m) => *m = n.clone(),
                None => self.networks.push(n.clone()),
            }
        }
        self.endpoints.retain(|e| e.container_id != d.container_id);
        self.endpoints.extend(d.endpoints.iter().cloned());
        self.generation = d.generation;
    }
}

/// The journal beside the snapshot at `snapshot`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    snapshot.with_extension("journal")
}

/// Appends `d` to the journal at `path` (one write of one line, mode 0600).
pub fn append(path: &Path, d: &Delta) -> Result<(), Error> {
    let mut line = serde_json::to_vec(d).map_err(Error::SnapshotParse)?;
    line.push(b'\n');
    let err = |e| Error::SnapshotWrite(path.to_path_buf(), e);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(&line).map_err(err)
}

/// The deltas of the journal at `path` from byte `offset` on (complete
/// lines only), and the offset after the last one read. A missing journal
/// has none.
pub fn read_from(path: &Path, offset: u64) -> Result<(Vec<Delta>, u64), Error> {
    let err = |e| Error::SnapshotRead(path.to_path_buf(), e);
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => return Err(err(e)),
    };
    f.seek(SeekFrom::Start(offset)).map_err(err)?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(err)?;
    let mut deltas = Vec::new();
    let mut used = 0;
    for line in buf.split_inclusive(|b| *b == b'\n') {
        if line.last() != Some(&b'\n') || line.len() > MAX_LINE {
            break; // being written, or not berth's
        }
        used += line.len();
        match serde_json::from_slice::<Delta>(line) {
            Ok(d) => deltas.push(d),
            Err(e) => tracing::warn!(error = %e, "journal line skipped"),
        }
    }
    Ok((deltas, offset + used as u64))
}
