#![recursion_limit = "512"]
//! Server entry: `checkout::serve::main`. The serving code lives in the library, compiled
//! once: this binary is only linked again after an edit (the dev loop).

// glibc's malloc took a fifth of the page's CPU time under load (perf); with mimalloc the
// page serves about a third more (README, "Performance", with its memory cost).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    checkout::serve::main()
}
