//! The crate's error type: every variant says what was being done, and for a
//! failed command its command line, exit status, stdout and stderr.

use std::io;

/// Everything that can go wrong while building, using or tearing down a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A program could not be started at all (missing binary, failed `setns`, ...).
    #[error("could not start `{what}`: {source}")]
    Spawn {
        /// The command line or description of what was started.
        what: String,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A command ran but exited unsuccessfully.
    #[error("`{what}` failed ({status})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")]
    Command {
        /// The command line or script that failed.
        what: String,
        /// Its exit status, as text (`exit status: 1`, `signal: 9 (SIGKILL)`, ...).
        status: String,
        /// What it printed on stdout (lossily decoded).
        stdout: String,
        /// What it printed on stderr (lossily decoded).
        stderr: String,
    },
    /// The lab (or the current process) is not isolated from the host's
    /// network namespace: nothing was configured.
    #[error("isolation check failed: {0}")]
    NotIsolated(String),
    /// A file-system operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path involved.
        what: String,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A tool's JSON output could not be parsed.
    #[error("could not parse the JSON output of `{what}`: {source}")]
    Json {
        /// The command whose output was parsed.
        what: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A lab, namespace or host name is not acceptable.
    #[error("invalid name {name:?}: {why}")]
    InvalidName {
        /// The name that was given.
        name: String,
        /// Why it was refused.
        why: &'static str,
    },
    /// An address given to the lab is not in CIDR notation.
    #[error("invalid address {0:?}: expected CIDR notation such as 198.51.100.3/24")]
    InvalidAddress(String),
    /// The operation needs the full world of [`crate::Lab::new`], not a bare lab.
    #[error("`{0}` needs a lab built by Lab::new (this one is bare)")]
    Bare(&'static str),
}

impl LabError {
    /// Builds an [`LabError::Io`] from a description and an error.
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        LabError::Io {
            what: what.into(),
            source,
        }
    }
}
