//! The `berth` binary: Docker's container network model from the command
//! line. A thin front-end over `berth_core::engine`.

mod cli;
mod cmd;
mod cni;
mod config;
mod docker;
mod doctor;
mod format;
mod inspect;
mod netavark;
mod topology;
mod tour;
mod trace;
mod ui;

use clap::Parser;

fn main() {
    config::init_logging();
    // A runtime executing berth as a CNI plugin: no command line to parse.
    if std::env::var_os("CNI_COMMAND").is_some() {
        std::process::exit(cni::main());
    }
    // Podman executing berth as its network backend (netavark's protocol).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(args) = netavark::invocation(&args) {
        std::process::exit(netavark::main(args, None));
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(parse_error(e)),
    };
    let is_run = matches!(cli.cmd, cli::Cmd::Run(_));
    let code = match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {}", config::report(&e));
            // `docker run` reports its own failures as 125.
            if is_run {
                125
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

/// Reports a command line clap refused; returns the exit code. `run`'s
/// errors follow Docker's: one line naming the bad option, exit 125 (an
/// unknown option before the command is an error, never the command);
/// other commands keep clap's report and code.
fn parse_error(e: clap::Error) -> i32 {
    use clap::error::{ContextKind, ErrorKind};
    if !e.use_stderr() || subcommand(std::env::args().skip(1)).as_deref() != Some("run") {
        let _ = e.print();
        return e.exit_code();
    }
    let arg = e.get(ContextKind::InvalidArg).map(|v| v.to_string());
    match (e.kind(), arg) {
        (ErrorKind::UnknownArgument, Some(arg)) => eprintln!(
            "berth: unknown option {arg} for 'berth run': berth has no such option (options go before the command; see 'berth run --help'); nothing was created"
        ),
        (ErrorKind::MissingRequiredArgument, _) => eprintln!(
            "berth: no command given: 'berth run' takes the command to run after its options, e.g. 'berth run busybox sh' (see 'berth run --help'); nothing was created"
        ),
        _ => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            eprintln!(
                "berth: {} (see 'berth run --help'); nothing was created",
                first.trim_start_matches("error: ")
            );
        }
    }
    125
}

/// The subcommand word of a command line (the first word that is neither
/// a global option nor its value).
fn subcommand(mut args: impl Iterator<Item = String>) -> Option<String> {
    while let Some(a) = args.next() {
        match a.as_str() {
            "--root" | "--store" => {
                args.next();
            }
            s if s.starts_with('-') => {}
            s => return Some(s.to_string()),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::subcommand;

    #[test]
    fn finds_the_subcommand_after_global_options() {
        let words = |s: &str| {
            s.split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(subcommand(words("run -P busybox")).as_deref(), Some("run"));
        assert_eq!(
            subcommand(words("--root /x run busybox")).as_deref(),
            Some("run")
        );
        assert_eq!(subcommand(words("--root=/x ps")).as_deref(), Some("ps"));
        assert_eq!(subcommand(words("--version")), None);
    }
}
