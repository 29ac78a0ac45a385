//! Times as Docker's CLI shows and reads them: "Up 3 minutes" and
//! "5 seconds ago" (go-units `HumanDuration`), Go's `Time.String()` for
//! `CreatedAt`, and the `until=` filter's timestamps and durations
//! (moby's `timestamp.Parse`).
//!
//! Written by hand: berth stores its times as RFC 3339 UTC strings and
//! needs only these few conversions, each a few lines of Go's own rules;
//! a date-time crate would not print Go's formats either.

use anyhow::{anyhow, bail, Result};
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as Unix seconds with a fraction.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// go-units `HumanDuration` of `secs` seconds.
pub fn human_duration(secs: f64) -> String {
    let s = secs as i64;
    let minutes = s / 60;
    let hours = (secs / 3600.0 + 0.5) as i64;
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", (secs / 3600.0) as i64 / 24 / 365),
    }
}

/// How long ago the RFC 3339 time `t` was, as go-units says it.
pub fn since(t: &str) -> String {
    let then = parse_rfc3339(t).unwrap_or(0.0);
    human_duration(now() - then)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, the
/// inverse of berth-core's `rfc3339`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]` into Unix seconds;
/// a time without a zone is UTC (berth's own clock).
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let num = |a: usize, b: usize| {
        s.get(a..b)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<i64>()
            .ok()
    };
    if s.get(4..5) != Some("-") || s.get(7..8) != Some("-") {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = (days_from_civil(y, mo, d) * 86_400) as f64;
    let mut rest = &s[10..];
    if let Some(t) = rest.strip_prefix(['T', ' ']) {
        let end = t
            .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
            .unwrap_or(t.len());
        let (clock, zone) = t.split_at(end);
        let mut parts = clock.splitn(3, ':');
        let h: f64 = parts.next()?.parse().ok()?;
        let m: f64 = parts.next().map_or(Some(0.0), |p| p.parse().ok())?;
        let sec: f64 = parts.next().map_or(Some(0.0), |p| p.parse().ok())?;
        if h >= 24.0 || m >= 60.0 || sec >= 61.0 {
            return None;
        }
        secs += h * 3600.0 + m * 60.0 + sec;
        rest = zone;
    }
    match rest {
        "" | "Z" | "z" => Some(secs),
        z => {
            let sign = match z.as_bytes().first()? {
                b'+' => -1.0,
                b'-' => 1.0,
                _ => return None,
            };
            let (zh, zm) = z[1..].split_once(':')?;
            Some(secs + sign * (zh.parse::<f64>().ok()? * 3600.0 + zm.parse::<f64>().ok()? * 60.0))
        }
    }
}

/// Go's `time.ParseDuration` (`300ms`, `1.5h`, `2h45m`); None if `s` is
/// not one. Hand-written: Go's unit set, which no Rust parser shares.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[u..];
    }
    Some(if neg { -total } else { total })
}

/// The `until=` value as Unix seconds: a Go duration before `now`, an RFC
/// 3339 date or time, or Unix seconds (moby's `timestamp.Parse`).
pub fn parse_until(value: &str, now: f64) -> Result<f64> {
    let value = value.trim();
    if value.is_empty() {
        bail!("failed to parse value as time or duration: value is empty");
    }
    if value != "0" {
        if let Some(d) = parse_go_duration(value) {
            return Ok(now - d);
        }
    }
    if let Some(t) = parse_rfc3339(value) {
        return Ok(t);
    }
    if !value.contains('-') {
        if let Ok(t) = value.parse::<f64>() {
            return Ok(t);
        }
    }
    Err(anyhow!(
        "invalid until value {value:?}: use a duration (10m, 24h), an RFC 3339 time (2024-01-31T12:00:00Z) or Unix seconds"
    ))
}

/// Go's `Time.String()` in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`
/// (the fraction without trailing zeros; none when `whole_seconds`).
pub fn go_time_string(rfc3339: &str, whole_seconds: bool) -> String {
    let (date, time) = match rfc3339.split_once('T') {
        Some(p) => p,
        None => return rfc3339.to_string(),
    };
    let time = time.trim_end_matches(['Z', 'z']);
    let (clock, frac) = time.split_once('.').unwrap_or((time, ""));
    let frac = frac.trim_end_matches('0');
    if whole_seconds || frac.is_empty() {
        format!("{date} {clock} +0000 UTC")
    } else {
        format!("{date} {clock}.{frac} +0000 UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_docker_says_them() {
        for (secs, want) in [
            (0.5, "Less than a second"),
            (1.2, "1 second"),
            (59.9, "59 seconds"),
            (60.0, "About a minute"),
            (119.0, "About a minute"),
            (180.0, "3 minutes"),
            (3599.0, "59 minutes"),
            (3600.0, "About an hour"),
            (5400.0, "2 hours"),
            (47.0 * 3600.0, "47 hours"),
            (3.0 * 86400.0, "3 days"),
            (20.0 * 86400.0, "2 weeks"),
            (90.0 * 86400.0, "3 months"),
            (800.0 * 86400.0, "2 years"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn times_parse_and_print() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339("2022-05-03T16:01:01.000000005Z").map(|t| t as i64),
            Some(1_651_593_661)
        );
        assert_eq!(parse_rfc3339("2000-02-29"), Some(951_782_400.0));
        assert_eq!(
            parse_rfc3339("2000-02-29T01:00:00+01:00"),
            Some(951_782_400.0)
        );
        assert_eq!(parse_rfc3339("2000-02-29T01"), Some(951_786_000.0));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_go_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_go_duration("1.5s"), Some(1.5));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5 minutes"), None);
        assert_eq!(parse_until("10m", 1000.0).unwrap(), 400.0);
        assert_eq!(parse_until("1700000000", 0.0).unwrap(), 1.7e9);
        assert_eq!(parse_until("2000-02-29", 0.0).unwrap(), 951_782_400.0);
        assert!(parse_until("soon", 0.0)
            .unwrap_err()
            .to_string()
            .contains("soon"));
        assert_eq!(
            go_time_string("2024-01-31T12:00:05.120000000Z", false),
            "2024-01-31 12:00:05.12 +0000 UTC"
        );
        assert_eq!(
            go_time_string("2024-01-31T12:00:05.120000000Z", true),
            "2024-01-31 12:00:05 +0000 UTC"
        );
    }
}
