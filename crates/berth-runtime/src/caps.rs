//! Capability names and sets: Docker's default set, `--cap-add` /
//! `--cap-drop` / `--privileged` arithmetic, and the names shown by
//! `berth inspect`. Sets are bit masks (bit N = capability N), the form the
//! child hands to `capset(2)`; the names and numbers come from the `caps`
//! crate.

use std::str::FromStr;

use caps::Capability;

/// Docker's default capability set (moby `oci/caps/defaults.go`).
pub const DOCKER_DEFAULT: [Capability; 14] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

/// The mask of [`DOCKER_DEFAULT`] (`CapEff` 00000000a80425fb).
pub fn docker_default_mask() -> u64 {
    mask_of(DOCKER_DEFAULT.iter())
}

/// Every capability this kernel knows (`0..=cap_last_cap`), as a mask.
pub fn all_mask() -> u64 {
    let last = last_cap();
    if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

/// The highest capability number of the running kernel
/// (`/proc/sys/kernel/cap_last_cap`, read once; the `caps` crate's list if
/// unreadable).
pub fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                caps::all()
                    .iter()
                    .map(|c| u32::from(c.index()))
                    .max()
                    .unwrap_or(40)
            })
    })
}

/// The permitted set of the calling process: a container never gets a
/// capability berth itself lacks (e.g. CAP_SYS_RESOURCE in some sandboxes).
pub fn current_permitted() -> u64 {
    caps::read(None, caps::CapSet::Permitted)
        .map(|set| mask_of(set.iter()))
        .unwrap_or_else(|_| all_mask())
}

/// The mask of some capabilities.
pub fn mask_of<'a>(caps: impl Iterator<Item = &'a Capability>) -> u64 {
    caps.fold(0, |m, c| m | c.bitmask())
}

/// One `--cap-add` / `--cap-drop` value: a capability or `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapName {
    /// Every capability.
    All,
    /// One capability.
    One(Capability),
}

/// Parses a capability name as Docker does: case-insensitive, with or
/// without the `CAP_` prefix, or `ALL`. The error names the value.
pub fn parse_cap(name: &str) -> Result<CapName, String> {
    let canonical = caps::to_canonical(name.trim());
    if canonical == "CAP_ALL" {
        return Ok(CapName::All);
    }
    Capability::from_str(&canonical).map(CapName::One).map_err(|_| {
        format!("unknown capability {name:?}: expected a name like NET_ADMIN or CAP_NET_ADMIN, or ALL")
    })
}

/// Docker's canonical spelling of a parsed name (`CAP_NET_ADMIN`, `ALL`).
pub fn canonical(name: CapName) -> String {
    match name {
        CapName::All => "ALL".into(),
        CapName::One(c) => c.to_string(),
    }
}

/// The capability set of a container, computed like Docker's
/// `TweakCapabilities`: `--privileged` gives every capability; otherwise
/// Docker's defaults (or all with `--cap-add ALL`, none with
/// `--cap-drop ALL`), minus the dropped ones, plus the added ones (adding
/// wins over dropping).
pub fn container_mask(privileged: bool, add: &[CapName], drop: &[CapName]) -> u64 {
    let all = all_mask();
    if privileged {
        return all;
    }
    let mut mask = docker_default_mask();
    if add.contains(&CapName::All) {
        mask = all;
    }
    if drop.contains(&CapName::All) {
        mask = 0;
    }
    for d in drop {
        if let CapName::One(c) = d {
            mask &= !c.bitmask();
        }
    }
    for a in add {
        if let CapName::One(c) = a {
            mask |= c.bitmask();
        }
    }
    mask & all
}

/// Whether `mask` holds capability `cap`.
pub fn has(mask: u64, cap: Capability) -> bool {
    mask & cap.bitmask() != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_is_dockers_capeff() {
        assert_eq!(docker_default_mask(), 0xa80425fb);
    }

    #[test]
    fn names_like_docker() {
        let na = CapName::One(Capability::CAP_NET_ADMIN);
        for n in ["NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_Net_Admin"] {
            assert_eq!(parse_cap(n), Ok(na), "{n}");
        }
        assert_eq!(parse_cap("all"), Ok(CapName::All));
        assert_eq!(canonical(na), "CAP_NET_ADMIN");
        let err = parse_cap("NET_ADMINN").unwrap_err();
        assert!(err.contains("\"NET_ADMINN\""), "{err}");
    }

    #[test]
    fn add_and_drop_like_docker() {
        let na = CapName::One(Capability::CAP_NET_ADMIN);
        let raw = CapName::One(Capability::CAP_NET_RAW);
        let def = docker_default_mask();
        assert_eq!(container_mask(false, &[], &[]), def);
        assert_eq!(
            container_mask(false, &[na], &[raw]),
            (def | Capability::CAP_NET_ADMIN.bitmask()) & !Capability::CAP_NET_RAW.bitmask()
        );
        assert_eq!(
            container_mask(false, &[na], &[CapName::All]),
            Capability::CAP_NET_ADMIN.bitmask()
        );
        assert_eq!(
            container_mask(false, &[na], &[na]),
            def | Capability::CAP_NET_ADMIN.bitmask()
        );
        assert_eq!(container_mask(false, &[CapName::All], &[]), all_mask());
        assert_eq!(container_mask(true, &[], &[CapName::All]), all_mask());
    }
}
