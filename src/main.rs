#![recursion_limit = "512"]
//! Server entry: the page around the islands (`app`, `checkout_page`), served by
//! `checkout::serve::main`. The rest lives in the library: an edit to the page recompiles
//! these few modules and links (the dev loop).

mod app;
mod checkout_page;
mod island;
#[cfg(test)]
mod served_page_tests;

// glibc's malloc took a fifth of the page's CPU time under load (perf); with mimalloc the
// page serves about a third more (README, "Performance", with its memory cost).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    checkout::serve::main(Box::new(app::routes))
}
