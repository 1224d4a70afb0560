//! The HTML shell, the router and the checkout page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};

use crate::cart::load_checkout;
use crate::components::{CheckoutForm, TestModeBanner};

/// The document the server renders around the app; also carries the hydration scripts.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
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
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <Stylesheet id="leptos" href="/pkg/checkout.css"/>
        <Title text="Checkout"/>
        <Router>
            <main>
                <Routes fallback=|| "Page not found.".into_view()>
                    // Async: the whole page, order summary included, is in the HTML, readable before the WASM loads.
                    <Route path=StaticSegment("") view=CheckoutPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn CheckoutPage() -> impl IntoView {
    let checkout = Resource::new_blocking(|| (), |_| load_checkout());
    view! {
        <Suspense fallback=|| view! { <p>"Loading your order…"</p> }>
            {move || Suspend::new(async move {
                match checkout.await {
                    Ok(view) => {
                        let banner = view.local_emulator.then(|| view! { <TestModeBanner/> });
                        let js_url = view.stripe.js_url.clone();
                        view! {
                            {banner}
                            <h1>"Checkout"</h1>
                            <p class="shop-name">{view.shop_name.clone()}</p>
                            <CheckoutForm view=view/>
                            <script id="stripe-js" src=js_url></script>
                        }
                            .into_any()
                    }
                    Err(err) => view! {
                        <h1>"Checkout"</h1>
                        <p role="alert" data-testid="payment-error">{err.to_string()}</p>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

/// Sends the page's Content-Security-Policy, with this response's script nonce.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use std::sync::Arc;
    let (Some(nonce), Some(response), Some(state), Some(options)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
        use_context::<Arc<crate::app_state::AppState>>(),
        use_context::<LeptosOptions>(),
    ) else {
        return;
    };
    // The dev loop's live reload talks over a websocket on the reload port.
    let reload = (options.env == leptos::config::Env::DEV)
        .then(|| format!("ws://{}:{}", options.site_addr.ip(), options.reload_port));
    let policy = crate::security::content_security_policy(nonce.as_inner(), &state.stripe_js, &state.stripe_api_base, reload.as_deref());
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}
