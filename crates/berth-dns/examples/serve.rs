//! Runs the resolver standalone (what `berth __dns` will do), for the
//! benchmark and for trying it by hand:
//!
//! ```sh
//! cargo run --release -p berth-dns --example serve -- SNAPSHOT CONTROL_SOCKET [PORT]
//! ```
//!
//! Stops on SIGTERM or SIGINT.

use std::process::ExitCode;

use berth_dns::{serve, shutdown_signal, ServerConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(snapshot), Some(control)) = (args.first(), args.get(1)) else {
        eprintln!("usage: serve SNAPSHOT CONTROL_SOCKET [PORT]");
        return ExitCode::from(2);
    };
    let mut config = ServerConfig::new(snapshot, control);
    if let Some(port) = args.get(2) {
        match port.parse() {
            Ok(port) => config.port = port,
            Err(_) => {
                eprintln!("invalid port {port:?}");
                return ExitCode::from(2);
            }
        }
    }
    match serve(config, shutdown_signal()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-dns: {e}");
            ExitCode::FAILURE
        }
    }
}
