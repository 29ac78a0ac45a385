//! `berth tour` (the README's first command runs it) works end to end and
//! leaves nothing on the host.

mod common;

#[test]
fn tour_runs_in_its_own_namespace_and_leaves_nothing() {
    let before = berth_lab::host_state().unwrap();
    let out = std::process::Command::new(common::BERTH)
        .args(["tour", "--no-pause"])
        .env_remove("BERTH_ROOT")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tour failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("hello from a berth container"),
        "the published web server answered: {text}"
    );
    assert!(text.contains("app cannot reach a1: isolated"), "{text}");
    assert!(text.contains("0% packet loss"), "{text}");
    assert!(
        text.contains("<══>  eth0@if") && text.contains("a1  (running"),
        "berth topology drew the veth pairs: {text}"
    );
    assert_eq!(
        before,
        berth_lab::host_state().unwrap(),
        "the host's links and /run/netns are unchanged"
    );
}

/// The tour inside a lab of our own, standing in for a host that already
/// has a process in a network namespace pinned in `/run/netns` (another
/// program's, or a berth container's): the tour is run once from the
/// host's namespace and once from inside the pinned namespace. It ends
/// only what it started: the tour exits 0 both times and the other
/// process survives both.
#[test]
fn the_tour_spares_processes_in_namespaces_pinned_on_the_host() {
    let host = berth_lab::Lab::bare("tour-host").unwrap();
    host.sh_ok("ip netns add victim; ip netns exec victim sleep 1234 >/dev/null 2>&1 &");
    let victims = || host.sh_ok("ip netns pids victim").lines().count();
    assert!((0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        victims() == 1
    }));
    for from in ["", "ip netns exec victim "] {
        let out = host.sh(&format!(
            "{from}env -u BERTH_ROOT {} tour --no-pause",
            common::BERTH
        ));
        assert!(
            out.status.success(),
            "tour run with '{from}' exited {}:\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("hello from a berth container"));
        assert_eq!(
            victims(),
            1,
            "the tour (run with '{from}') killed the victim"
        );
    }
}
