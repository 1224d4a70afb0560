//! Server entry: read the settings, build the routes, serve.

use axum::Router;
use checkout::app::{shell, App};
use checkout::config::Settings;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

#[tokio::main]
async fn main() {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("checkout: {err}");
            std::process::exit(2);
        }
    };
    // cargo-leptos passes the site settings (address, output name, site root) as LEPTOS_* variables.
    let conf = get_configuration(None).expect("LEPTOS_* site settings");
    let options = conf.leptos_options;
    let addr = options.site_addr;
    let routes = generate_route_list(App);

    let app = Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(settings.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options);

    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("checkout: cannot listen on {addr}: {err}");
            std::process::exit(2);
        }
    };
    println!("checkout listening on http://{addr}");
    axum::serve(listener, app.into_make_service()).await.expect("serve");
}
