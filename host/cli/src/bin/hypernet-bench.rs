//! `hypernet-bench`: the benchmarks (`hypernet bench`, which starts this program in its own
//! place, see `hypernet::bench`). A program of its own so that the benchmarks' code stays
//! out of the host binary; it runs the host's code with the host's allocator and runtime,
//! so its figures are the host's.

hypernet::allocator!();

fn main() -> std::process::ExitCode {
    hypernet::program::main(hypernet::Cli::execute_bench)
}
