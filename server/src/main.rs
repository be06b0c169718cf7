//! The `rosetta` binary: see `rosetta --help`.

fn main() -> std::process::ExitCode {
    rosetta::cli::main()
}
