//! What the resolver has read of its files (the snapshot, and how far
//! into the journal), and bringing that up to date on a reload: the whole
//! snapshot again only when it is a new file, else the journal's new
//! lines, applied to the live index one container at a time.

use crate::journal::{self, Delta};
use crate::resolver::Resolver;
use crate::snapshot::Snapshot;
use crate::Error;

/// A file's device, inode, size and modification time (s, ns).
type FileKey = (u64, u64, u64, i64, i64);

/// What the resolver has read of its files.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// The snapshot with the journal's deltas applied.
    pub(crate) snapshot: Snapshot,
    /// The snapshot file read, kept open (while it is, its inode cannot
    /// be reused: another inode at the path is another snapshot), and its
    /// device, inode, size and modification time when it was read (a file
    /// rewritten in place is read again too).
    file: Option<(std::fs::File, FileKey)>,
    /// How far the journal has been read.
    offset: u64,
}

/// What a reload found new in the files.
pub(crate) enum Fresh {
    /// Another snapshot file (read, its journal too): index it whole.
    Whole,
    /// The same snapshot file: these new journal lines, not yet applied.
    Deltas(Vec<Delta>),
}

impl Loaded {
    /// Reads what is new in the file at `path` and the journal beside it:
    /// the whole snapshot again only if it is another file than the one
    /// read (the journal is new then too, and applied); otherwise the
    /// journal's new lines, for the caller to apply.
    pub(crate) fn refresh(&mut self, path: &std::path::Path) -> Result<Fresh, Error> {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let key = |m: std::fs::Metadata| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec());
        let now = std::fs::metadata(path).ok().map(key);
        let held = self.file.as_ref().map(|(_, k)| *k);
        let whole = now.is_none() || now != held;
        if whole {
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
        self.offset = offset;
        if !whole {
            return Ok(Fresh::Deltas(deltas));
        }
        for d in &deltas {
            self.snapshot.apply(d);
        }
        Ok(Fresh::Whole)
    }

    /// Applies `deltas` to the snapshot and to `resolver`, one container
    /// at a time. Returns whether the index must be rebuilt instead (a
    /// delta changed a network) and whether the upstreams in use may have
    /// changed (a container with `--dns` servers came or went).
    pub(crate) fn apply(&mut self, resolver: &mut Resolver, deltas: &[Delta]) -> (bool, bool) {
        let (mut rebuild, mut upstreams) = (false, false);
        for d in deltas {
            if d.generation <= self.snapshot.generation {
                continue;
            }
            if !rebuild {
                let old: Vec<_> = self
                    .snapshot
                    .endpoints
                    .iter()
                    .filter(|e| e.container_id == d.container_id)
                    .cloned()
                    .collect();
                upstreams |= old.iter().chain(&d.endpoints).any(|e| !e.dns.is_empty());
                rebuild = !resolver.apply_delta(&self.snapshot.networks, &old, d);
            }
            self.snapshot.apply(d);
        }
        (rebuild, upstreams)
    }
}
