//! A closed-loop DNS load generator: queries/s and latency percentiles.
//!
//! ```sh
//! dnsload --server 127.18.0.1:53 --source 127.18.0.2 --names web0,web1 \
//!         [--duration 5] [--clients 2] [--window 32] [--warmup 0.5]
//! ```
//!
//! Each client is a thread with one UDP socket (bound to `--source`, the
//! "container" asking) keeping `--window` queries in flight, cycling
//! through the names (A queries). Prints one line:
//! `qps=… p50_us=… p90_us=… p99_us=… p999_us=… max_us=… ok=… errors=… lost=…`;
//! `errors` counts
//! answers that are not NOERROR with at least one record.

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};

/// Command-line settings.
struct Settings {
    server: SocketAddr,
    source: String,
    names: Vec<String>,
    duration: Duration,
    warmup: Duration,
    clients: usize,
    window: usize,
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    errors: u64,
    lost: u64,
}

fn parse_args() -> Result<Settings, String> {
    let mut s = Settings {
        server: "127.0.0.1:53".parse().map_err(|_| "bad default")?,
        source: "127.0.0.1".into(),
        names: Vec::new(),
        duration: Duration::from_secs(5),
        warmup: Duration::from_millis(500),
        clients: 2,
        window: 32,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--server" => s.server = value.parse().map_err(|_| bad.clone())?,
            "--source" => s.source = value.clone(),
            "--names" => s.names = value.split(',').map(str::to_string).collect(),
            "--duration" => {
                s.duration = Duration::from_secs_f64(value.parse().map_err(|_| bad.clone())?)
            }
            "--warmup" => {
                s.warmup = Duration::from_secs_f64(value.parse().map_err(|_| bad.clone())?)
            }
            "--clients" => s.clients = value.parse().map_err(|_| bad.clone())?,
            "--window" => s.window = value.parse().map_err(|_| bad.clone())?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if s.names.is_empty() || s.window == 0 || s.window > 4096 {
        return Err("need --names, and 1 <= --window <= 4096".into());
    }
    Ok(s)
}

/// The wire form of an A query for each name (id 0, patched when sent).
fn packets(names: &[String]) -> Result<Vec<Vec<u8>>, String> {
    names
        .iter()
        .map(|n| {
            let name = Name::from_ascii(n).map_err(|e| format!("{n}: {e}"))?;
            let mut m = Message::query();
            m.metadata.id = 0;
            m.metadata.recursion_desired = true;
            m.add_query(Query::query(name, RecordType::A));
            m.to_vec().map_err(|e| e.to_string())
        })
        .collect()
}

/// One client: keeps `window` queries in flight until `end`.
fn client(
    s: &Settings,
    packets: &[Vec<u8>],
    seed: usize,
    start: Instant,
) -> std::io::Result<Tally> {
    let socket = UdpSocket::bind((s.source.as_str(), 0))?;
    socket.connect(s.server)?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let (measure_from, end) = (start + s.warmup, start + s.warmup + s.duration);
    let mut sent: Vec<Option<Instant>> = vec![None; 65536];
    let (mut next_id, mut in_flight, mut cursor) = (0u16, 0usize, seed);
    let mut tally = Tally::default();
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        while in_flight < s.window && now < end {
            let mut p = packets[cursor % packets.len()].clone();
            cursor += 1;
            p[..2].copy_from_slice(&next_id.to_be_bytes());
            sent[usize::from(next_id)] = Some(Instant::now());
            next_id = next_id.wrapping_add(1);
            socket.send(&p)?;
            in_flight += 1;
        }
        if in_flight == 0 {
            return Ok(tally);
        }
        let n = match socket.recv(&mut buf) {
            Ok(n) if n >= 12 => n,
            Ok(_) => continue,
            Err(_) => {
                // Timed out: whatever is in flight is lost.
                tally.lost += in_flight as u64;
                in_flight = 0;
                sent.iter_mut().for_each(|s| *s = None);
                continue;
            }
        };
        let id = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
        let Some(at) = sent[id].take() else { continue };
        in_flight -= 1;
        let done = Instant::now();
        if at >= measure_from && done <= end {
            tally
                .latencies_ns
                .push(u64::try_from((done - at).as_nanos()).unwrap_or(u64::MAX));
            let ok = buf[3] & 0x0f == 0 && buf[6..8] != [0, 0] && n > 12;
            tally.errors += u64::from(!ok);
            if !ok && std::env::var_os("DNSLOAD_DEBUG").is_some() {
                eprintln!(
                    "error: rcode={} ancount={} after {:?}",
                    buf[3] & 0x0f,
                    buf[7],
                    done - at
                );
            }
        }
    }
}

/// All clients' tallies in one.
fn merge(results: Vec<std::io::Result<Tally>>) -> std::io::Result<Tally> {
    let mut all = Tally::default();
    for t in results {
        let t = t?;
        all.latencies_ns.extend(t.latencies_ns);
        all.errors += t.errors;
        all.lost += t.lost;
    }
    Ok(all)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() -> ExitCode {
    let s = match parse_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dnsload: {e}");
            return ExitCode::from(2);
        }
    };
    let packets = match packets(&s.names) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dnsload: {e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let results: Vec<std::io::Result<Tally>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..s.clients)
            .map(|i| {
                let (s, packets) = (&s, &packets);
                scope.spawn(move || client(s, packets, i * 7919, start))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("client panicked")))
            })
            .collect()
    });
    let mut all = match merge(results) {
        Ok(all) => all,
        Err(e) => {
            eprintln!("dnsload: client failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    all.latencies_ns.sort_unstable();
    let ok = all.latencies_ns.len() as u64;
    let p = |q| percentile(&all.latencies_ns, q);
    println!(
        "qps={:.0} p50_us={:.1} p90_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} ok={} errors={} lost={}",
        ok as f64 / s.duration.as_secs_f64(),
        p(0.50),
        p(0.90),
        p(0.99),
        p(0.999),
        p(1.0),
        ok,
        all.errors,
        all.lost
    );
    ExitCode::SUCCESS
}
