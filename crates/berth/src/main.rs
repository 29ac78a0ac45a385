//! The `berth` binary: Docker's container network model from the command
//! line. A thin front-end over `berth_core::engine`.

mod cli;
mod cmd;
mod cni;
mod doctor;
mod format;
mod inspect;
mod topology;
mod tour;
mod trace;
mod ui;

use clap::Parser;

fn main() {
    // A runtime executing berth as a CNI plugin: no command line to parse.
    if std::env::var_os("CNI_COMMAND").is_some() {
        std::process::exit(cni::main());
    }
    let cli = cli::Cli::parse();
    let is_run = matches!(cli.cmd, cli::Cmd::Run(_));
    let code = match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
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
