//! Ports the kernel cannot forward, served by the supervisor's userland
//! forwarder: TCP on `[::1]`, and on the host's IPv6 address to a
//! container without IPv6 (the default bridge is IPv4-only). Started and
//! stopped with the container; UDP there is refused with the reason. The
//! throughput against kernel DNAT is printed (`--nocapture`), not asserted.

mod common;
mod netutil;

use common::B;
use netutil::{curl_in, curl_ready, httpd, www, LAB, LAB6, REFUSED};

/// Bytes per second of `curl` downloading `url` in `ns` (`None`: the lab).
fn speed(b: &B, ns: Option<&str>, url: &str) -> f64 {
    let script = format!("curl -sS -g -m 60 -o /dev/null -w '%{{speed_download}}' {url}");
    let out = match ns {
        Some(ns) => b.lab.in_ns_ok(ns, &script),
        None => b.lab.sh_ok(&script),
    };
    out.trim().parse().unwrap_or(0.0)
}

#[test]
fn ipv6_loopback_and_ipv6_host_address_reach_an_ipv4_only_container() {
    let b = B::new("userland-fwd");
    let dir = www(&b, "www", "userland", &[]);
    b.sh(&format!("truncate -s 256M {dir}/big"));
    b.ok(&format!(
        "run -d --name web -p '[::1]:8085:80' -p '[{LAB6}]:8086:80' -p 8081:80 {}",
        httpd(&dir, 80)
    ));
    assert_eq!(
        curl_ready(&b, None, "http://[::1]:8085/").as_deref(),
        Ok("userland")
    );
    let v6 = format!("http://[{LAB6}]:8086/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &v6).as_deref(),
        Ok("userland")
    );
    let ports = b.ok("port web");
    assert!(ports.contains("80/tcp -> [::1]:8085"), "{ports}");
    // Kernel DNAT next to it, for the measurement.
    let v4 = format!("http://{LAB}:8081/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &v4).as_deref(),
        Ok("userland")
    );
    let dnat = speed(&b, Some("outside"), &format!("{v4}big"));
    let userland = speed(&b, Some("outside"), &format!("{v6}big"));
    let loopback = speed(&b, None, "http://[::1]:8085/big");
    eprintln!(
        "256 MiB over kernel DNAT {:.0} MB/s, userland forwarder (IPv6 host address) {:.0} MB/s, userland on [::1] {:.0} MB/s",
        dnat / 1e6,
        userland / 1e6,
        loopback / 1e6
    );
    assert!(userland > 0.0 && dnat > 0.0 && loopback > 0.0);
    // UDP there is refused with the reason, and nothing is created.
    let e = b.fails("run --rm -p '[::1]:5353:53/udp' busybox true");
    assert!(e.contains("TCP only"), "{e}");
    // Stopped with the container: the port refuses.
    b.ok("stop -t 1 web");
    assert_eq!(curl_in(&b, None, "http://[::1]:8085/", 2), Err(REFUSED));
    // Started again with it.
    b.ok("start web");
    assert_eq!(
        curl_ready(&b, None, "http://[::1]:8085/").as_deref(),
        Ok("userland")
    );
    // A port another process holds fails the start, naming the address.
    b.ok("stop -t 1 web");
    assert!(
        !b.try_sh("ss -Htln | grep -q '\\[::1\\]:8085'"),
        "closed with the container"
    );
    let mut holder = b
        .lab
        .command("socat")
        .args(["TCP6-LISTEN:8085,bind=[::1],reuseaddr", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("socat");
    assert!(b.eventually("ss -Htln | grep -q '\\[::1\\]:8085'"));
    let e = b.fails("start web");
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(e.contains("[::1]:8085"), "{e}");
}
