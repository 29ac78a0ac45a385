//! Guards shared by berth's tests so that none of them passes whatever the
//! code does: golden files that bless themselves only when asked to (and
//! never in CI), and skips for a missing tool that are failures in CI.

use std::path::Path;

/// Environment variable that rewrites golden files: only the value `1`.
pub const BLESS_ENV: &str = "BERTH_BLESS";

/// Whether this is a CI run (`CI` set, as `.ci/run` exports it): there,
/// every tool `scripts/deps` installs must be present, and golden files
/// are never rewritten.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Compares `text` with the golden file at `path`. With `BERTH_BLESS=1`
/// (and not in CI) the file is rewritten first; any other value of
/// `BERTH_BLESS` is ignored. Panics with the path and a diff hint when
/// they differ, or when asked to bless in CI.
pub fn golden(path: &Path, text: &str) {
    let bless = std::env::var(BLESS_ENV).is_ok_and(|v| v == "1");
    assert!(
        !(bless && in_ci()),
        "{BLESS_ENV}=1 in CI: golden files are compared, never rewritten, in CI"
    );
    if bless {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the golden files' directory");
        }
        std::fs::write(path, text).expect("write the golden file");
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        text,
        want,
        "golden file {} differs; review the change, then rerun with {BLESS_ENV}=1 to update it",
        path.display()
    );
}

/// Whether a test may go on: `available` as it is outside CI (printing
/// `SKIPPED: why` when not); in CI a missing tool fails the test, since
/// `scripts/deps` installs every tool the tests use.
pub fn tool_available(available: bool, why: &str) -> bool {
    if !available {
        assert!(
            !in_ci(),
            "{why}: in CI this must not be skipped (scripts/deps installs it)"
        );
        eprintln!("SKIPPED: {why}");
    }
    available
}

/// Whether `program` is found in `PATH` (see [`tool_available`]).
pub fn have_program(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
