//! The page around the island (the server binary's): the HTML shell and the router, the
//! routes the server serves them on, and the checkout page itself.

pub mod checkout_page;
#[cfg(test)]
mod tests;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};

use crate::page::checkout_page::CheckoutPage;
use checkout::i18n::{td_string, I18nLocaleTrait, Locale};

/// The page's routes for `checkout::server::router::build`: leptos's routes for [`App`], with the
/// state in their context, and leptos's fallback (files, then the not-found page).
pub fn routes(
    options: &LeptosOptions,
    state: std::sync::Arc<checkout::server::state::AppState>,
) -> axum::Router<LeptosOptions> {
    use leptos_axum::{generate_route_list, LeptosRoutes};
    axum::Router::new()
        .leptos_routes_with_context(
            options,
            generate_route_list(App),
            move || provide_context(state.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
}

/// The document the server renders around the app; also carries the hydration scripts and,
/// as Stripe's guide has it, Stripe.js in the head: it loads in parallel with the WASM.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stripe_js = use_context::<std::sync::Arc<checkout::server::state::AppState>>()
        .map(|state| state.stripe_js.js_url.clone());
    let stripe_origin = stripe_js
        .as_deref()
        .and_then(checkout::server::security::origin_of);
    let locale = checkout::server::language::request_locale();
    // The whole page, and the island through its data, is rendered in this one language.
    provide_context(locale);
    view! {
        <!DOCTYPE html>
        <html lang=locale.as_str()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                {stripe_origin.map(|origin| view! { <link rel="preconnect" href=origin/> })}
                {stripe_js.map(|src| view! { <script id="stripe-js" src=src async/> })}
                <AutoReload options=options.clone()/>
                {hydration_scripts()}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    set_content_security_policy();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        // Its file name carries the build's hash (hash-files), so it is cached for good. Named
        // once at start-up: leptos_meta's `HashedStylesheet` reads the hash file on every page.
        {built_stylesheet().map(|href| view! { <link id="leptos" rel="stylesheet" href=href/> })}
        <Title text=td_string!(locale, page.title).to_string()/>
        <Router>
            <main>
                <Routes fallback=move || td_string!(locale, page.not_found).to_string()>
                    // Async: the whole page, order summary included, is in the HTML, readable before the WASM loads.
                    <Route path=StaticSegment("") view=CheckoutPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The stylesheet's path as the server named it at start-up (`AppState::built`).
fn built_stylesheet() -> Option<String> {
    use_context::<std::sync::Arc<checkout::server::state::AppState>>()
        .map(|state| state.built.stylesheet.clone())
}

/// leptos's island script, vendored from leptos 0.8.23 (MIT, see vendor/leptos/LICENSE).
const ISLAND_SCRIPT: &str = include_str!("../../../vendor/leptos/island_script.js");

/// What leptos's `<HydrationScripts islands=true/>` renders, with the file names the server
/// read at start-up: leptos's own resolves `current_exe()` and reads hash.txt on every page
/// (its share of the page's CPU: docs/performance.md).
fn hydration_scripts() -> impl IntoView {
    let built = use_context::<std::sync::Arc<checkout::server::state::AppState>>()
        .map(|state| state.built.clone());
    // As leptos does: in islands mode only the islands hydrate, not the page around them.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let nonce = leptos::nonce::use_nonce();
    built.map(|built| {
        let script = format!("{ISLAND_SCRIPT}(\"\", {:?}, {:?}, {:?});", built.pkg_dir, built.script, built.wasm);
        view! {
            <link rel="modulepreload" href=format!("/{}/{}.js", built.pkg_dir, built.script) crossorigin="anonymous"/>
            <link rel="preload" href=format!("/{}/{}.wasm", built.pkg_dir, built.wasm) r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
            <script type="module" nonce=nonce>{script}</script>
        }
    })
}

/// Sends the page's Content-Security-Policy, with this response's script nonce.
fn set_content_security_policy() {
    use std::sync::Arc;
    let (Some(nonce), Some(response), Some(state), Some(options)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
        use_context::<Arc<checkout::server::state::AppState>>(),
        use_context::<LeptosOptions>(),
    ) else {
        return;
    };
    // The dev loop's live reload talks over a websocket on the reload port.
    let reload = (options.env == leptos::config::Env::DEV)
        .then(|| format!("ws://{}:{}", options.site_addr.ip(), options.reload_port));
    let policy = checkout::server::security::content_security_policy(
        nonce.as_inner(),
        &state.stripe_js,
        &state.stripe_api_base,
        reload.as_deref(),
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}
