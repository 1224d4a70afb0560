#![recursion_limit = "512"]
//! Server entry: read the configuration, build the server, serve.

use std::process::ExitCode;

use checkout::config::{Environment, Settings};
use leptos::prelude::get_configuration;

#[tokio::main]
async fn main() -> ExitCode {
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
    let environment = match Environment::from_env(&env, checkout::config::Build::current()) {
        Ok(environment) => environment,
        Err(err) => return fail(err),
    };
    // cargo-leptos passes the site settings (address, output name, site root) as LEPTOS_* variables.
    let options = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(err) => return fail(err),
    };
    let addr = options.site_addr;
    let server = match checkout::server::build(options, settings, environment).await {
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
