//! The `tfpub` binary: the command line and nothing else. Every command is implemented in
//! `tfpub-core` (publishing) or `tfpub-registry` (the embedded registry); this crate parses
//! arguments, dispatches, renders results and maps them to an exit code.

mod cli;

/// The only place a status becomes the process exit code.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::main().code())
}
