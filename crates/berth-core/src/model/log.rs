//! A container's log file options (`--log-opt`, Docker's json-file
//! driver's names): the file is rotated when it would grow past
//! `max-size`, and only `max-file` files are kept, the oldest dropped. So
//! a container that writes without end never fills the disk.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Default `max-size`: 10 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;
/// Default `max-file`: the current file and the previous one.
pub const DEFAULT_MAX_FILE: u32 = 2;

/// Where a container's output is kept, and how much of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    /// Largest size of one log file in bytes (`max-size`).
    pub max_size: u64,
    /// Files kept, the current one included (`max-file`); with 1 the file
    /// starts over empty when full.
    pub max_file: u32,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_size: DEFAULT_MAX_SIZE,
            max_file: DEFAULT_MAX_FILE,
        }
    }
}

impl LogOptions {
    /// Parses `--log-opt KEY=VALUE` values over the defaults: `max-size`
    /// (bytes, or with a k, m or g suffix; 1k to 1g) and `max-file` (1 to
    /// 100).
    pub fn parse(opts: &[String]) -> Result<LogOptions> {
        let mut o = LogOptions::default();
        for opt in opts {
            let bad = |why: &str| Error::invalid(format!("invalid --log-opt {opt:?}: {why}"));
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE, e.g. max-size=10m"))?;
            match k {
                "max-size" => {
                    o.max_size = size(v)
                        .filter(|s| (1 << 10..=1 << 30).contains(s))
                        .ok_or_else(|| bad("max-size is a size from 1k to 1g, like 500k or 10m"))?
                }
                "max-file" => {
                    o.max_file = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| bad("max-file is a number of files from 1 to 100"))?
                }
                _ => return Err(bad("berth's log files take max-size and max-file")),
            }
        }
        Ok(o)
    }
}

/// `123`, `64k`, `10m`, `1g` (also upper case, and `kb`/`mb`/`gb`) in bytes.
fn size(s: &str) -> Option<u64> {
    let s = s.to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (digits, shift) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 10),
        'm' => (&s[..s.len() - 1], 20),
        'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<LogOptions> {
        LogOptions::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn sizes_and_counts() {
        assert_eq!(parse(&[]).unwrap(), LogOptions::default());
        let o = parse(&["max-size=64k", "max-file=3"]).unwrap();
        assert_eq!((o.max_size, o.max_file), (64 << 10, 3));
        assert_eq!(parse(&["max-size=10M"]).unwrap().max_size, 10 << 20);
        assert_eq!(parse(&["max-size=2048"]).unwrap().max_size, 2048);
        assert_eq!(parse(&["max-size=1gb"]).unwrap().max_size, 1 << 30);
        for bad in [
            "max-size=0",
            "max-size=2g",
            "max-size=10x",
            "max-size=",
            "max-file=0",
            "max-file=a",
            "compress=true",
            "max-size",
        ] {
            let e = parse(&[bad]).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
