//! The `bakeoff` binary: parse, dispatch, exit with a named code.

use clap::Parser;

fn main() {
    let cli = bakeoff::cli::Cli::parse();
    let code = match bakeoff::commands::dispatch(cli) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("bakeoff: {failure}");
            failure.code
        }
    };
    std::process::exit(code);
}
