#![recursion_limit = "512"]
//! Server entry: the page around the island (`page/`), served by
//! `checkout::server::process::main`. The rest lives in the library, and the island in its
//! own crate (`island/`): an edit to the page recompiles these few modules and links.

mod page;

// glibc's malloc took a fifth of the page's CPU time under load (perf); with mimalloc the
// page serves about a third more (docs/performance.md, with its memory cost).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    checkout::server::process::main(Box::new(page::routes))
}
