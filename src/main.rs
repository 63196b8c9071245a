//! The `l2sim` binary: everything lives in the library; see `l2sim::cli`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The system allocator, with a clean end when it runs out: instead of Rust's abort (a
/// backtrace, exit code 134, the staging folder left behind), l2sim frees a reserve kept for
/// this moment, removes its staging folders, says what happened and exits with code 1.
struct Guarded;

/// Bytes kept aside at start-up so that the message and the clean-up can still allocate.
const RESERVE_BYTES: usize = 8 << 20;
static RESERVE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static FAILED: AtomicBool = AtomicBool::new(false);

fn reserve_layout() -> Layout {
    Layout::from_size_align(RESERVE_BYTES, 4096).expect("a valid constant layout")
}

#[cold]
fn out_of_memory(size: usize) -> ! {
    if FAILED.swap(true, Ordering::SeqCst) {
        // Another thread is already reporting; it ends the process.
        loop {
            std::thread::park();
        }
    }
    let reserve = RESERVE.swap(std::ptr::null_mut(), Ordering::SeqCst);
    if !reserve.is_null() {
        // SAFETY: allocated in `main` with this layout, and freed only here, once.
        unsafe { System.dealloc(reserve, reserve_layout()) };
    }
    let removed = l2sim::report::abandon_all();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "error: out of memory: an allocation of {size} bytes failed (the memory limit of this process was reached: \
         ulimit -v, a cgroup or Slurm --mem, or the machine); nothing was written{}. \
         Lower --threads or the agents, raise sample_every_days, or give the job more memory",
        if removed.is_empty() {
            ""
        } else {
            " and the temporary folder was removed"
        }
    );
    std::process::exit(1)
}

// SAFETY: every call is forwarded to `System` unchanged; only a null result is handled.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Guarded = Guarded;

fn main() -> std::process::ExitCode {
    // SAFETY: a plain allocation of a valid, non-zero layout; kept until `out_of_memory`.
    let reserve = unsafe { System.alloc(reserve_layout()) };
    RESERVE.store(reserve, Ordering::SeqCst);
    // Like other Unix tools, stop quietly when the reader of stdout goes away (`l2sim ... | head`)
    // instead of failing on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    l2sim::cli::main()
}
