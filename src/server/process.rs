//! The server process: read the configuration, build the server, serve until asked to stop
//! (see `shutdown.rs`), then stop without cutting anyone off.

use std::future::IntoFuture;
use std::process::ExitCode;

use leptos::prelude::get_configuration;

use crate::server::config::{Environment, Settings};

/// Stack for each runtime thread. A request's future is polled through the router, the
/// middleware, the server function, the payment flow, and (in the default setup) the
/// embedded emulator. Unoptimised debug builds need more than tokio's 2 MiB for that.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Serves the app whose pages are `pages` (see [`crate::server::router::Pages`]).
pub fn main(pages: crate::server::router::Pages) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(pages)),
        Err(err) => fail(format!("cannot start the async runtime: {err}")),
    }
}

async fn serve(pages: crate::server::router::Pages) -> ExitCode {
    // `.env` first, so its values count as environment (already-set variables win).
    let _ = dotenvy::dotenv();
    use crate::server::telemetry::logs;
    match logs::LogFormat::parse(std::env::var("CHECKOUT_LOG_FORMAT").ok().as_deref()) {
        Ok(format) => logs::init(format),
        Err(err) => return fail(err),
    }

    let env = |name: &str| std::env::var(name).ok();
    let settings = match Settings::load(&env) {
        Ok(settings) => settings,
        Err(err) => return fail(err),
    };
    let environment = match Environment::from_env(&env, crate::server::config::Build::current()) {
        Ok(environment) => environment,
        Err(err) => return fail(err),
    };
    // cargo-leptos passes the site settings (address, output name, site root) as LEPTOS_* variables.
    let options = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(err) => return fail(err),
    };
    let addr = options.site_addr;
    let shutdown_grace = environment.shutdown_grace;
    let server = match crate::server::router::build(options, settings, environment, pages).await {
        Ok(server) => server,
        Err(err) => return fail(err),
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(err) => return fail(format!("cannot listen on {addr}: {err}")),
    };
    tracing::info!("checkout listening on http://{addr}");
    let state = server.state.clone();
    let stopping = state.clone();
    // With each connection's address: the card-testing limits count by client.
    let service = server
        .router
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let serving = axum::serve(listener, service).with_graceful_shutdown(async move {
        crate::server::shutdown::signal().await;
        stopping.shutdown.begin();
    });
    let mut serving = std::pin::pin!(serving.into_future());
    // Serve until asked to stop; then the requests in flight have their grace.
    let served = tokio::select! {
        served = &mut serving => served,
        _ = wait_for_stop(&state) => match tokio::time::timeout(shutdown_grace, &mut serving).await {
            Ok(served) => served,
            Err(_) => {
                state.shutdown.end_grace();
                // Each request left is answered "try again" at once.
                serving.await
            }
        },
    };
    if let Err(err) = served {
        return fail(err);
    }
    stop(&state, server.reconciler, shutdown_grace).await;
    #[cfg(feature = "embedded-emulator")]
    if let Some(emulator) = server.emulator {
        emulator.shutdown().await;
    }
    tracing::info!("checkout stopped");
    ExitCode::SUCCESS
}

/// Resolves once the server has been asked to stop.
async fn wait_for_stop(state: &crate::server::state::AppState) {
    let mut stopping = state.shutdown.stopping();
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// After the last request: the reconciler's passes end (its orders' steps finish, within the
/// grace), and the leases still held go back, so other servers take the orders at once.
async fn stop(
    state: &crate::server::state::AppState,
    reconciler: tokio::task::JoinHandle<()>,
    grace: std::time::Duration,
) {
    let abort = reconciler.abort_handle();
    if tokio::time::timeout(grace, reconciler).await.is_err() {
        abort.abort();
        tracing::warn!("the reconciler's pass did not end within the shutdown's grace: stopped");
    }
    let released = state.orders.release_all_held().await;
    if released > 0 {
        tracing::info!(released, "order leases given back");
    }
}

fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("checkout: {err}");
    ExitCode::from(2)
}
