//! The `l2sim` binary: everything lives in the library; see `l2sim::cli`.

fn main() -> std::process::ExitCode {
    l2sim::cli::main()
}
