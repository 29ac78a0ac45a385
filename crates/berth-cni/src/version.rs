//! The CNI versions berth speaks, and the `VERSION` command.

use crate::error::{code, CniError};
use serde_json::{json, Value};

/// A CNI specification version berth accepts, oldest first (so `<` means
/// "older than").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 0.3.0: rich results (ips[].version), chaining.
    V0_3_0,
    /// 0.3.1: same wire format as 0.3.0.
    V0_3_1,
    /// 0.4.0: CHECK, prevResult on DEL.
    V0_4_0,
    /// 1.0.0: no `version` in ips; list configurations only.
    V1_0_0,
    /// 1.1.0: STATUS, GC, interface `mtu`/`socketPath`/`pciID`, route
    /// `mtu`/`advmss`/`priority`/`table`/`scope`.
    V1_1_0,
}

/// Every version berth accepts, as `VERSION` reports them.
pub const SUPPORTED: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

impl Version {
    /// The newest version berth speaks.
    pub const LATEST: Version = Version::V1_1_0;

    /// Parses a `cniVersion`; an unknown one is error 1.
    pub fn parse(s: &str) -> Result<Version, CniError> {
        match s {
            "0.3.0" => Ok(Version::V0_3_0),
            "0.3.1" => Ok(Version::V0_3_1),
            "0.4.0" => Ok(Version::V0_4_0),
            "1.0.0" => Ok(Version::V1_0_0),
            "1.1.0" => Ok(Version::V1_1_0),
            _ => Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                "incompatible CNI version",
                format!(
                    "cniVersion {s:?} is not one berth speaks ({}); nothing was changed",
                    SUPPORTED.join(", ")
                ),
            )),
        }
    }

    /// The version as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_3_0 => "0.3.0",
            Version::V0_3_1 => "0.3.1",
            Version::V0_4_0 => "0.4.0",
            Version::V1_0_0 => "1.0.0",
            Version::V1_1_0 => "1.1.0",
        }
    }

    /// Fails with error 1 unless this version is at least `min`, which
    /// `command` needs (CHECK came in 0.4.0, STATUS and GC in 1.1.0).
    pub fn require(self, min: Version, command: &str) -> Result<(), CniError> {
        if self >= min {
            return Ok(());
        }
        Err(CniError::new(
            code::INCOMPATIBLE_VERSION,
            format!("config version does not allow {command}"),
            format!(
                "{command} needs cniVersion {} or later; the configuration says {}",
                min.as_str(),
                self.as_str()
            ),
        ))
    }
}

/// The answer to `VERSION`: the version asked for on stdin (or the latest)
/// and every supported version.
pub fn version_result(stdin: &[u8]) -> Value {
    let asked = serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| v.get("cniVersion")?.as_str().map(String::from))
        .filter(|v| SUPPORTED.contains(&v.as_str()))
        .unwrap_or_else(|| Version::LATEST.as_str().to_string());
    json!({"cniVersion": asked, "supportedVersions": SUPPORTED})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert!(Version::parse("0.4.0").unwrap() < Version::parse("1.0.0").unwrap());
        assert_eq!(Version::parse("1.1.0").unwrap().as_str(), "1.1.0");
        let e = Version::parse("2.0.0").unwrap_err();
        assert_eq!(e.code, code::INCOMPATIBLE_VERSION);
        assert!(e.details.contains("2.0.0"));
        assert!(Version::V0_3_1.require(Version::V0_4_0, "CHECK").is_err());
        assert!(Version::V1_1_0.require(Version::V1_1_0, "GC").is_ok());
    }

    #[test]
    fn version_echoes_a_supported_request() {
        let v = version_result(br#"{"cniVersion":"0.4.0"}"#);
        assert_eq!(v["cniVersion"], "0.4.0");
        assert_eq!(v["supportedVersions"].as_array().unwrap().len(), 5);
        assert_eq!(version_result(b"")["cniVersion"], "1.1.0");
        assert_eq!(
            version_result(br#"{"cniVersion":"9"}"#)["cniVersion"],
            "1.1.0"
        );
    }
}
