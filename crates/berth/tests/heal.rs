//! The firewall heals itself: with `berth agent --local` running, a
//! published port answers again soon after `nft flush ruleset`; with the
//! agent killed it stays closed (connection refused: no DNAT, nothing
//! listens on the host port) until the agent starts again.

mod common;
mod netutil;

use common::{B, BERTH};
use netutil::{curl_in, curl_ready, httpd, www, LAB, REFUSED};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts `berth agent --local` in the lab, its stderr in `agent.log`,
/// and waits until it watches (its first line).
fn start_agent(b: &B) -> Child {
    let log_path = b.lab.root().join("agent.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = b
        .lab
        .command(BERTH)
        .args(["agent", "--local"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start berth agent --local");
    let watching = (0..200).any(|_| {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("keeping berth's firewall tables in place") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
        false
    });
    assert!(watching, "agent did not start: {}", agent_log(b));
    child
}

fn agent_log(b: &B) -> String {
    std::fs::read_to_string(b.lab.root().join("agent.log")).unwrap_or_default()
}

/// Polls `url` from `outside` until it answers `body`, up to `bound`
/// (generous: a loaded machine); how long it took.
fn answers_within(b: &B, url: &str, body: &str, bound: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < bound {
        if curl_in(b, Some("outside"), url, 1).as_deref() == Ok(body) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_flushed_ruleset_comes_back_while_the_agent_runs() {
    let b = B::new("heal-agent");
    let dir = www(&b, "www", "healed", &[]);
    b.ok(&format!("run -d --name web -p 8081:80 {}", httpd(&dir, 80)));
    let url = format!("http://{LAB}:8081/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url).as_deref(),
        Ok("healed")
    );
    let mut agent = start_agent(&b);
    let bound = Duration::from_secs(15);

    b.sh("nft flush ruleset");
    let took = answers_within(&b, &url, "healed", bound);
    assert!(took.is_some(), "not healed: {}", agent_log(&b));
    eprintln!("published port answered again {took:?} after the flush");
    // The agent logs the re-apply once it is done: the port may answer
    // a moment before the line is written.
    let deadline = std::time::Instant::now() + bound;
    while !agent_log(&b).contains("re-applied from the store")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        agent_log(&b).contains("re-applied from the store"),
        "{}",
        agent_log(&b)
    );
    // Only berth's tables are its business; a deletion elsewhere is not.
    let heals = |b: &B| agent_log(b).matches("re-applied from the store").count();
    // The baseline once the agent is quiet (one flush may be seen as
    // more than one batch of notifications).
    let mut before = heals(&b);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = heals(&b);
        if now == before {
            break;
        }
        before = now;
    }
    b.sh("nft add table inet other && nft delete table inet other");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(heals(&b), before, "{}", agent_log(&b));

    // Flushing berth's table alone heals too.
    b.sh("nft flush table inet berth");
    assert!(
        answers_within(&b, &url, "healed", bound).is_some(),
        "{}",
        agent_log(&b)
    );

    // Without the agent the flush stays: the host port refuses.
    let _ = agent.kill();
    let _ = agent.wait();
    b.sh("nft flush ruleset");
    assert_eq!(curl_in(&b, Some("outside"), &url, 2), Err(REFUSED));
    // A new agent puts it back as it starts.
    let mut agent = start_agent(&b);
    assert!(
        answers_within(&b, &url, "healed", bound).is_some(),
        "{}",
        agent_log(&b)
    );
    let _ = agent.kill();
    let _ = agent.wait();
}
