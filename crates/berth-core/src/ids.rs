//! Identifiers and names: 64-hex ids like Docker's, name validation,
//! prefix lookup helpers and kernel interface names derived from ids.

use crate::error::{Error, Result};

/// A fresh random 64-hex-character id.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(format!("cannot read random bytes for an id: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A MAC address as text, `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The 12-character short form of an id, as Docker prints it.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Checks a container or network name against Docker's rule
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok_first || !ok_rest || name.len() > 128 {
        return Err(Error::invalid(format!(
            "invalid {what} name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at most 128 characters)"
        )));
    }
    Ok(())
}

/// Checks a Linux interface name (at most 15 bytes, no '/', ':' or spaces).
pub fn validate_ifname(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 15
        || name.contains(['/', ':'])
        || name.chars().any(char::is_whitespace)
        || name == "."
        || name == ".."
    {
        return Err(Error::invalid(format!(
            "invalid interface name {name:?}: Linux allows 1 to 15 characters without '/', ':' or spaces; choose a shorter name"
        )));
    }
    Ok(())
}

/// Host-side veth name for an endpoint: `veth` + 7 hex of the endpoint id,
/// like Docker's `veth1a2b3c4`.
pub fn host_veth_name(endpoint_id: &str) -> String {
    format!("veth{}", &endpoint_id[..7.min(endpoint_id.len())])
}

/// Bridge name of a user-defined bridge network: `br-` + 12 hex of its id.
pub fn bridge_name(network_id: &str) -> String {
    format!("br-{}", short(network_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(short(&a).len(), 12);
    }

    #[test]
    fn names() {
        assert!(validate_name("container", "web-1.a_b").is_ok());
        assert!(validate_name("container", "-bad").is_err());
        assert!(validate_name("container", "").is_err());
        assert!(validate_name("container", "a b").is_err());
        assert!(validate_ifname("br-0123456789ab").is_ok());
        assert!(validate_ifname("averyveryverylongname").is_err());
        assert_eq!(bridge_name(&"ab".repeat(32)), "br-abababababab");
        assert_eq!(host_veth_name("0123456789"), "veth0123456");
    }
}
