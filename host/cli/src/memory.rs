//! How the process asks for memory: the allocator's settings and the kernel's pages.

/// mimalloc's option numbers (`mi_option_e` in `mimalloc.h`, the same in its versions 2 and
/// 3); the Rust bindings do not name these two.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator up for a small resident set; called before anything allocates (see
/// `main`), since some settings are read once, when the allocator starts.
///
/// - Memory freed is returned to the kernel after 10 ms (`purge_delay`, default 1 s; the
///   arena waits ten times that): after a burst — a thousand calls' requests and answers,
///   start-up's parsing — the freed memory would otherwise stay resident for seconds.
///   0 ms saves a little more memory but costs about a third of the durable throughput.
/// - The allocator's arena is committed as it is used, not all at once (`arena_eager_commit`
///   0, default: eagerly where the kernel overcommits).
///
/// Figures: docs/benchmarks.md, "Where the memory goes".
pub fn configure_allocator() {
    // SAFETY: mi_option_set only stores the value of a known option.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    }
}

/// Most worker threads of the async runtime.
///
/// The runtime's threads carry the API, the HTTP calls and the plugins' replies; the
/// scheduler, the event log and every plugin have threads of their own. Four keep up with
/// every benchmark, and each more thread costs its stack and the allocator's per-thread pages
/// (tokio's default is one per core: 64 on a 64-core machine).
const MAX_RUNTIME_WORKERS: usize = 4;

/// How many worker threads the async runtime gets: one per core, at most four (see
/// `MAX_RUNTIME_WORKERS`).
pub fn runtime_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_RUNTIME_WORKERS)
}

/// Turns transparent huge pages off for this process and its children.
///
/// The allocator asks for huge pages on its arenas (`madvise(MADV_HUGEPAGE)`), and where the
/// kernel grants them on request (the common `madvise` setting) a few bytes touched in a
/// 2 MiB region make all of it resident: at ready, 22 of the host's 28 MiB of heap were such
/// pages. The host's heap is small and its objects short-lived, so 4 KiB pages cost it
/// nothing measurable in speed (docs/benchmarks.md, "Where the memory goes").
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes integer arguments and touches no memory of ours.
        let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        if r != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "transparent huge pages stay on");
        }
    }
}
