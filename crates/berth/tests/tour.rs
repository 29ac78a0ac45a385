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
