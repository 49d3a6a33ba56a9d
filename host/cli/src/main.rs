//! `hypernet`: the host and its commands.

hypernet::allocator!();

fn main() -> std::process::ExitCode {
    hypernet::program::main(hypernet::Cli::execute)
}
