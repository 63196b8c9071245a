//! The `l2sim` binary: everything lives in the library; see `l2sim::cli`.

fn main() -> std::process::ExitCode {
    // Like other Unix tools, stop quietly when the reader of stdout goes away (`l2sim ... | head`)
    // instead of failing on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    l2sim::cli::main()
}
