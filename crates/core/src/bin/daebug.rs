//! The `daebug` binary: see [`daebug_core::cli`].

fn main() {
    std::process::exit(daebug_core::cli::main(std::env::args().collect(), "daebug"));
}
