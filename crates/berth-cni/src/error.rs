//! The spec's error object (`{cniVersion, code, msg, details}`) and codes.

use serde_json::{json, Value};

/// The error codes of CNI 1.1 ("Well-known error codes") and berth's own
/// (100 and up, as the spec allows).
pub mod code {
    /// Incompatible CNI version.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// Unsupported field in the configuration (message names key and value).
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Container unknown or does not exist: the runtime needs no cleanup.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// Invalid necessary environment variables (message names them).
    pub const INVALID_ENV: u32 = 4;
    /// I/O failure (e.g. reading stdin).
    pub const IO: u32 = 5;
    /// Failed to decode content (JSON syntax, a value of the wrong type).
    pub const DECODE: u32 = 6;
    /// Invalid network configuration.
    pub const INVALID_CONFIG: u32 = 7;
    /// A transient condition: try again later.
    pub const TRY_AGAIN: u32 = 11;
    /// The plugin cannot serve ADD requests.
    pub const NOT_AVAILABLE: u32 = 50;
    /// Not available, and existing containers may have limited connectivity.
    pub const LIMITED_CONNECTIVITY: u32 = 51;
    /// berth: the kernel or berth's state store failed.
    pub const INTERNAL: u32 = 100;
    /// berth: an address, a host port or the interface name is already taken.
    pub const CONFLICT: u32 = 101;
    /// berth: CHECK found the attachment different from what ADD made.
    pub const DRIFT: u32 = 102;
}

/// A CNI error: a code, a short message and details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}{}", if details.is_empty() { String::new() } else { format!(": {details}") })]
pub struct CniError {
    /// One of [`code`].
    pub code: u32,
    /// What went wrong, in a few words.
    pub msg: String,
    /// The whole story: the offending value, what was left untouched, what to do.
    pub details: String,
}

impl CniError {
    /// An error with `code`, message and details.
    pub fn new(code: u32, msg: impl Into<String>, details: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: details.into(),
        }
    }

    /// The spec's error object in protocol version `version`.
    pub fn to_json(&self, version: &str) -> Value {
        let mut v = json!({"cniVersion": version, "code": self.code, "msg": self.msg});
        if !self.details.is_empty() {
            v["details"] = json!(self.details);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_spec_keys() {
        let e = CniError::new(code::INVALID_CONFIG, "bad subnet", "10.0.0.1/33");
        assert_eq!(
            e.to_json("1.1.0"),
            json!({"cniVersion": "1.1.0", "code": 7, "msg": "bad subnet", "details": "10.0.0.1/33"})
        );
        assert_eq!(e.to_string(), "bad subnet: 10.0.0.1/33");
        let bare = CniError::new(code::IO, "stdin", "");
        assert!(bare.to_json("0.4.0").get("details").is_none());
    }
}
