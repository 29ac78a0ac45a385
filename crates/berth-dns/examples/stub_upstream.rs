//! A tiny, fast authoritative responder for benchmarks: every A question
//! gets `A 192.0.2.1` (TTL 60), every other type an empty NOERROR. UDP only.
//!
//! ```sh
//! cargo run --release -p berth-dns --example stub_upstream -- 127.53.0.1:53 [THREADS]
//! ```
//!
//! Answers are built by copying the question (no parsing beyond the name's
//! labels), so the stub is never the bottleneck of a measurement.

use std::net::UdpSocket;
use std::process::ExitCode;

/// The reply to `query`, or `None` for what is not a plain query.
fn reply(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    // Skip the question name, then type and class.
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        at += len + 1;
    }
    let end = at + 5;
    let question = query.get(12..end)?;
    let is_a = question[question.len() - 4..question.len() - 2] == [0, 1];
    let mut out = Vec::with_capacity(end + 16);
    out.extend_from_slice(&query[..2]);
    out.push(0x84 | (query[2] & 0x01)); // QR, AA, RD copied
    out.push(0x80); // RA
    out.extend_from_slice(&[0, 1, 0, u8::from(is_a), 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if is_a {
        // Name pointer to offset 12, A, IN, TTL 60, 4 bytes, 192.0.2.1.
        out.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    Some(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(addr) = args.first() else {
        eprintln!("usage: stub_upstream ADDR:PORT [THREADS]");
        return ExitCode::from(2);
    };
    let threads: usize = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(2);
    let socket = match UdpSocket::bind(addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stub_upstream: bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let workers: Vec<_> = (0..threads)
        .filter_map(|_| socket.try_clone().ok())
        .map(|socket| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok((n, src)) = socket.recv_from(&mut buf) {
                    if let Some(out) = reply(&buf[..n]) {
                        let _ = socket.send_to(&out, src);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    ExitCode::SUCCESS
}
