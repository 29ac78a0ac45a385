//! The HTTP side of `berth ui`: the built-in assets and two API routes.
//!
//! Only reads are answered (GET and HEAD; anything else gets 405), and only
//! for requests addressed to the server itself: a `Host` that is
//! `localhost`, a loopback address or the address it listens on. A web
//! page elsewhere could otherwise have a name of its own resolve to
//! 127.0.0.1 (DNS rebinding) and read the topology through the visitor's
//! browser; such requests carry that name in `Host` and get 421.

use crate::topology::{collect, dot, svg};
use berth_core::engine::Engine;
use std::net::{IpAddr, SocketAddr};
use tiny_http::{Header, Method, Request, Response, Server};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// Answers requests to `bound` in turn until the server fails.
pub fn serve(http: &Server, mut engine: Engine, bound: SocketAddr) {
    for req in http.incoming_requests() {
        let host = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Host"))
            .map(|h| h.value.as_str().to_string());
        let (status, kind, body) = if !host_allowed(host.as_deref(), bound) {
            (
                421,
                "text/plain; charset=utf-8",
                format!(
                    "berth ui answers requests for {bound}, localhost or a loopback address only, not for Host {:?}\n",
                    host.unwrap_or_default()
                ),
            )
        } else if !matches!(req.method(), Method::Get | Method::Head) {
            (
                405,
                "text/plain; charset=utf-8",
                format!("berth ui is read-only: {} is not allowed\n", req.method()),
            )
        } else {
            let url = req.url().split('?').next().unwrap_or("/").to_string();
            route(&mut engine, &url)
        };
        respond(req, status, kind, body);
    }
}

/// True when a request with header `Host: host` is addressed to this
/// server listening on `bound`: `localhost`, a loopback address, the
/// listening address, or (listening on all addresses) any address literal.
/// Names other than `localhost` are refused: that is the DNS rebinding.
pub fn host_allowed(host: Option<&str>, bound: SocketAddr) -> bool {
    let Some(host) = host.map(str::trim) else {
        return false;
    };
    // Drop the port: `[v6]:port`, `v4:port`, `name:port`.
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(h, _)| h),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip == bound.ip() || bound.ip().is_unspecified(),
        Err(_) => false,
    }
}

/// Status, content type and body for `url`.
fn route(engine: &mut Engine, url: &str) -> (u16, &'static str, String) {
    match url {
        "/" | "/index.html" => (200, "text/html; charset=utf-8", INDEX.into()),
        "/app.js" => (200, "text/javascript; charset=utf-8", APP_JS.into()),
        "/style.css" => (200, "text/css; charset=utf-8", STYLE.into()),
        "/api/topology" => match collect::collect(engine, &[]) {
            Ok(t) => match serde_json::to_string(&t) {
                Ok(json) => (200, "application/json", json),
                Err(e) => error(&e.to_string()),
            },
            Err(e) => error(&crate::config::report(&e)),
        },
        "/api/topology.svg" => {
            match collect::collect(engine, &[]).and_then(|t| svg::render(&dot::render(&t))) {
                Ok(s) => (200, "image/svg+xml", s),
                Err(e) => error(&crate::config::report(&e)),
            }
        }
        _ => (
            404,
            "text/plain; charset=utf-8",
            format!("no such page: {url}\n"),
        ),
    }
}

fn error(msg: &str) -> (u16, &'static str, String) {
    (500, "text/plain; charset=utf-8", format!("{msg}\n"))
}

fn respond(req: Request, status: u16, kind: &str, body: String) {
    let mut resp = Response::from_string(body).with_status_code(status);
    let allow = if status == 405 { "GET, HEAD" } else { "" };
    for (k, v) in [
        ("Content-Type", kind),
        ("Cache-Control", "no-store"),
        ("Allow", allow),
    ] {
        if v.is_empty() {
            continue;
        }
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    if let Err(e) = req.respond(resp) {
        eprintln!("berth ui: answering a request: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_requests_addressed_to_the_server() {
        let lo: std::net::SocketAddr = "127.0.0.1:8900".parse().unwrap();
        for ok in [
            "127.0.0.1:8900",
            "127.0.0.1",
            "localhost:8900",
            "LOCALHOST",
            "[::1]:8900",
            "127.0.0.2:9000",
        ] {
            assert!(host_allowed(Some(ok), lo), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8900",
            "localhost.evil.example",
            "192.0.2.1:8900",
            "",
            "[::1",
            "127.0.0.1.nip.io:8900",
        ] {
            assert!(!host_allowed(Some(bad), lo), "{bad}");
        }
        assert!(!host_allowed(None, lo));
        let remote: std::net::SocketAddr = "192.0.2.5:8900".parse().unwrap();
        assert!(host_allowed(Some("192.0.2.5:8900"), remote));
        assert!(!host_allowed(Some("192.0.2.6:8900"), remote));
        assert!(!host_allowed(Some("berth.example:8900"), remote));
        let any: std::net::SocketAddr = "0.0.0.0:8900".parse().unwrap();
        assert!(host_allowed(Some("198.51.100.7:8900"), any));
        assert!(!host_allowed(Some("berth.example:8900"), any));
    }
}
