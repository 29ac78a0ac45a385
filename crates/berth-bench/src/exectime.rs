//! `exectime IN OUT COMMAND [ARG...]`: runs COMMAND once with its stdin
//! read from the file IN and its stdout written to the file OUT, and prints
//! the wall time of the whole process (spawn to reaped) in microseconds.
//!
//! The benchmark scripts time plugin processes (berth's CNI plugin, the
//! reference plugins, netavark) with it. Timing them from bash would add
//! bash's own cost to every sample: bash forks a copy of itself before each
//! exec, and reading a clock through a command substitution forks a subshell
//! (about 1 ms together on this machine, as much as berth's whole ADD).
//! Container runtimes start plugins the way this tool does (a vfork-style
//! spawn: Go's os/exec, Rust's `Command`), so this is the time a runtime
//! waits for the plugin. The environment is passed through unchanged.
//!
//! Exit status: 0 when COMMAND succeeded; otherwise COMMAND's own status
//! (or 1 when it could not be started or was killed), with a message on
//! stderr and nothing on stdout.

use std::fs::File;
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, program, rest @ ..] = args.as_slice() else {
        eprintln!("usage: exectime IN OUT COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    match run(input, output, program, rest) {
        Ok(micros) => {
            println!("{micros}");
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("exectime: {program}: {message}");
            ExitCode::from(code)
        }
    }
}

/// Runs the command; returns its wall time in µs, or an exit code and why.
fn run(input: &str, output: &str, program: &str, args: &[String]) -> Result<u128, (u8, String)> {
    let stdin = File::open(input).map_err(|e| (1, format!("cannot open {input}: {e}")))?;
    let stdout = File::create(output).map_err(|e| (1, format!("cannot create {output}: {e}")))?;
    let mut command = Command::new(program);
    command.args(args).stdin(stdin).stdout(stdout);
    let start = Instant::now();
    let status = command
        .status()
        .map_err(|e| (1, format!("cannot start: {e}")))?;
    let micros = start.elapsed().as_micros();
    match status.code() {
        Some(0) => Ok(micros),
        Some(code) => Err((
            u8::try_from(code).unwrap_or(1),
            format!("exited with {code}"),
        )),
        None => Err((1, format!("ended by {status}"))),
    }
}
