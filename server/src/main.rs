//! The `rosetta` binary: see `rosetta --help`.

/// mimalloc rather than glibc's malloc. A login hands memory from one thread to another (its
/// trace leg is built by the request's thread and freed by the trace writer's), and glibc
/// settles each such free in the allocating thread's arena, under its lock, where the
/// request threads' next allocations sort through it. mimalloc frees into the owning
/// thread's page without a lock: on one machine the benchmark's login cost 7 % less CPU
/// without the trace and 12 % less with it (BENCHMARKS.md, "the allocator"). Its price:
/// about 20 MiB more resident memory idle.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rosetta::cli::main()
}
