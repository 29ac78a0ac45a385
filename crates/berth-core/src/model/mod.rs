//! berth's data model: networks, containers, endpoints and published ports,
//! with the pure validation of everything a user can type.

pub mod cni;
mod container;
pub mod docker;
mod gwmode;
pub mod log;
pub mod netopt;
pub mod network;
mod owner;
mod port;
mod security;
pub mod validate;

pub use container::{Container, ContainerConfig, ContainerState, Endpoint, Exposed, NetworkAttach};
pub use network::{Driver, IpamConfig, Network, NetworkCreate, SubnetRequest};
pub use owner::{NetworkOwner, PodmanNetwork};
pub use port::{parse_publish, PortBinding, PortSpec, Proto};
pub use security::{parse_bind, parse_security_opt, Bind, SecurityConfig};

/// The current time in RFC 3339 with nanoseconds (UTC), as Docker prints it.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

/// Formats a Unix time as RFC 3339 UTC. Written by hand because it is ten lines
/// of civil-date arithmetic (Howard Hinnant's algorithm) and berth needs no
/// other date handling.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            super::rfc3339(1_651_593_661, 5),
            "2022-05-03T16:01:01.000000005Z"
        );
        assert_eq!(
            super::rfc3339(951_782_400, 0),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
