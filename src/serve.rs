//! The server process: read the configuration, build the server, serve.

use std::process::ExitCode;

use leptos::prelude::get_configuration;

use crate::config::{Environment, Settings};

/// Stack for each runtime thread. A request's future is polled through the router, the
/// middleware, the server function, the payment flow, and (in the default setup) the
/// embedded emulator. Unoptimised debug builds need more than tokio's 2 MiB for that.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Serves the app whose pages are `pages` (see [`crate::server::Pages`]).
pub fn main(pages: crate::server::Pages) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(THREAD_STACK_BYTES).build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(pages)),
        Err(err) => fail(format!("cannot start the async runtime: {err}")),
    }
}

async fn serve(pages: crate::server::Pages) -> ExitCode {
    // `.env` first, so its values count as environment (already-set variables win).
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn,hyper=warn".into()))
        .init();

    let env = |name: &str| std::env::var(name).ok();
    let settings = match Settings::load(&env) {
        Ok(settings) => settings,
        Err(err) => return fail(err),
    };
    let environment = match Environment::from_env(&env, crate::config::Build::current()) {
        Ok(environment) => environment,
        Err(err) => return fail(err),
    };
    // cargo-leptos passes the site settings (address, output name, site root) as LEPTOS_* variables.
    let options = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(err) => return fail(err),
    };
    let addr = options.site_addr;
    let server = match crate::server::build(options, settings, environment, pages).await {
        Ok(server) => server,
        Err(err) => return fail(err),
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(err) => return fail(format!("cannot listen on {addr}: {err}")),
    };
    tracing::info!("checkout listening on http://{addr}");
    if let Err(err) = axum::serve(listener, server.router.into_make_service()).await {
        return fail(err);
    }
    ExitCode::SUCCESS
}

fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("checkout: {err}");
    ExitCode::from(2)
}
