//! The HTTP side of `berth ui`: the built-in assets and two API routes.

use crate::topology::{collect, dot, svg};
use berth_core::engine::Engine;
use tiny_http::{Header, Request, Response, Server};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// Answers requests in turn until the server fails.
pub fn serve(http: &Server, mut engine: Engine) {
    for req in http.incoming_requests() {
        let url = req.url().split('?').next().unwrap_or("/").to_string();
        let (status, kind, body) = route(&mut engine, &url);
        respond(req, status, kind, body);
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
            Err(e) => error(&format!("{e:#}")),
        },
        "/api/topology.svg" => {
            match collect::collect(engine, &[]).and_then(|t| svg::render(&dot::render(&t))) {
                Ok(s) => (200, "image/svg+xml", s),
                Err(e) => error(&format!("{e:#}")),
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
    for (k, v) in [("Content-Type", kind), ("Cache-Control", "no-store")] {
        if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    if let Err(e) = req.respond(resp) {
        eprintln!("berth ui: answering a request: {e}");
    }
}
