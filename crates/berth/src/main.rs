//! The `berth` binary: Docker's container network model from the command
//! line. A thin front-end over `berth_core::engine`.

mod cli;
mod cmd;
mod cni;
mod config;
mod docker;
mod doctor;
mod filter;
mod format;
mod forwarder;
mod inspect;
mod netavark;
mod times;
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
            // One write: berth processes sharing a stderr (parallel runs
            // into one log) must not interleave their lines.
            let line = format!("berth: {}\n", config::report(&e));
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
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

/// Reports a command line clap refused; returns the exit code. As in
/// Docker, a bad command line is one line naming the bad option and exit
/// 125 (an unknown option before `run`'s command is an error, never the
/// command); help and version go to stdout with exit 0, and so does the
/// help printed for a command group given without its command.
fn parse_error(e: clap::Error) -> i32 {
    use clap::error::{ContextKind, ErrorKind};
    if !e.use_stderr() || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return 0;
    }
    let words = command_words(std::env::args().skip(1));
    let is_run = words.first().map(String::as_str) == Some("run");
    let see = format!(
        "see 'berth {}--help'",
        words.iter().map(|w| format!("{w} ")).collect::<String>()
    );
    let nothing = if is_run { "; nothing was created" } else { "" };
    let arg = e.get(ContextKind::InvalidArg).map(|v| v.to_string());
    match (e.kind(), arg) {
        (ErrorKind::UnknownArgument, Some(arg)) if is_run => eprintln!(
            "berth: unknown option {arg} for 'berth run': berth has no such option (options go before the command; {see}){nothing}"
        ),
        (ErrorKind::UnknownArgument, Some(arg)) => {
            eprintln!("berth: unknown option {arg}: berth has no such option ({see})")
        }
        (ErrorKind::MissingRequiredArgument, _) if is_run => eprintln!(
            "berth: no command given: 'berth run' takes the command to run after its options, e.g. 'berth run busybox sh' ({see}){nothing}"
        ),
        _ => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            eprintln!("berth: {} ({see}){nothing}", first.trim_start_matches("error: "));
        }
    }
    125
}

/// The command words of a command line: the subcommand, and the one after
/// it for the command groups (`network ls`, `system info`).
fn command_words(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut args = args.peekable();
    let Some(first) = subcommand(&mut args) else {
        return Vec::new();
    };
    let mut words = vec![first];
    if matches!(words[0].as_str(), "network" | "system") {
        if let Some(next) = args.find(|a| !a.starts_with('-')) {
            words.push(next);
        }
    }
    words
}

/// The subcommand word of a command line (the first word that is neither
/// a global option nor its value).
fn subcommand(args: &mut impl Iterator<Item = String>) -> Option<String> {
    while let Some(a) = args.next() {
        match a.as_str() {
            "--root" | "--store" | "--store-ca" | "--store-cert" | "--store-key"
            | "--store-auth" => {
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
    use super::{command_words, subcommand};

    #[test]
    fn finds_the_subcommand_after_global_options() {
        let words = |s: &str| {
            s.split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(
            command_words(words("--root /x network ls --bogus")),
            ["network", "ls"]
        );
        assert_eq!(command_words(words("ps -a")), ["ps"]);
        let words = |s: &str| {
            s.split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(
            subcommand(&mut words("run -P busybox")).as_deref(),
            Some("run")
        );
        assert_eq!(
            subcommand(&mut words("--root /x run busybox")).as_deref(),
            Some("run")
        );
        assert_eq!(
            subcommand(&mut words("--root=/x ps")).as_deref(),
            Some("ps")
        );
        assert_eq!(subcommand(&mut words("--version")), None);
    }
}
