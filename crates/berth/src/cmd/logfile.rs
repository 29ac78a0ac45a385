//! A detached container's log: its output as the supervisor receives it,
//! in `CONTAINER_DIR/log` (0600), rotated by [`LogOptions`]: when the next
//! write would take the file past `max-size` it becomes `log.1` (`log.1`
//! becomes `log.2`, and so on; the file past `max-file` is dropped) and a
//! new `log` starts; with `max-file=1` the file starts over empty.
//! `berth logs` reads the files oldest first ([`files`]).

use berth_core::model::log::LogOptions;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The log file of a container, as the supervisor writes it.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    opts: LogOptions,
}

fn open(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    berth_core::paths::private_file(path)?;
    Ok(f)
}

/// `log.N` next to `path`.
fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl LogWriter {
    /// Opens (appending to) the log at `path`.
    pub fn open(path: &Path, opts: LogOptions) -> std::io::Result<LogWriter> {
        let file = open(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            opts,
        })
    }

    /// Appends `buf`, rotating first if it would not fit. A single write
    /// larger than `max-size` keeps its last `max-size` bytes.
    pub fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let max = usize::try_from(self.opts.max_size).unwrap_or(usize::MAX);
        let buf = &buf[buf.len().saturating_sub(max)..];
        if self.size > 0 && self.size + buf.len() as u64 > self.opts.max_size {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.opts.max_file <= 1 {
            // Appends go to the new end of the file.
            self.file.set_len(0)?;
        } else {
            for n in (1..self.opts.max_file - 1).rev() {
                match std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
            self.file = open(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// The files of the log at `path`, oldest first (those that exist).
pub fn files(path: &Path, opts: LogOptions) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = (1..opts.max_file.max(1))
        .rev()
        .map(|n| rotated(path, n))
        .collect();
    v.push(path.to_path_buf());
    v.retain(|p| p.exists());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn rotates_and_drops_the_oldest() {
        let dir = std::env::temp_dir().join(format!("berth-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let opts = LogOptions {
            max_size: 10,
            max_file: 3,
        };
        let mut w = LogWriter::open(&path, opts).unwrap();
        for line in [
            "aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n", "gggg\n",
        ] {
            w.write(line.as_bytes()).unwrap();
        }
        // Two lines per file, three files: the oldest line is gone.
        let all: String = files(&path, opts).iter().map(|p| read(p)).collect();
        assert_eq!(all, "cccc\ndddd\neeee\nffff\ngggg\n");
        assert_eq!(read(&path), "gggg\n");
        assert!(!rotated(&path, 3).exists());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A write larger than a file keeps its end.
        w.write(b"0123456789abcdef").unwrap();
        assert_eq!(read(&path), "6789abcdef");
        // One file: it starts over.
        let one = dir.join("one");
        let opts = LogOptions {
            max_size: 10,
            max_file: 1,
        };
        let mut w = LogWriter::open(&one, opts).unwrap();
        for line in ["aaaa\n", "bbbb\n", "cccc\n"] {
            w.write(line.as_bytes()).unwrap();
        }
        assert_eq!(read(&one), "cccc\n");
        assert_eq!(files(&one, opts), vec![one.clone()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
