//! The HTML shell and the router.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

use crate::greeting::Ping;

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
    view! {
        <Stylesheet id="leptos" href="/pkg/checkout.css"/>
        <Title text="Checkout"/>
        <Router>
            <main>
                <Routes fallback=|| "Page not found.".into_view()>
                    <Route path=StaticSegment("") view=CheckoutPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Placeholder checkout page: the order summary is rendered on the server.
#[component]
fn CheckoutPage() -> impl IntoView {
    let ping = ServerAction::<Ping>::new();
    // The button stays disabled until the WASM has hydrated: a click before that would be lost.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let reply = move || ping.value().get().map(|r| r.unwrap_or_else(|e| e.to_string()));
    view! {
        <h1>"Checkout"</h1>
        <section class="order-summary" aria-labelledby="summary-title">
            <h2 id="summary-title">"Order summary"</h2>
            <p data-testid="order-summary">"Your order will appear here."</p>
        </section>
        <section class="server-check">
            <button
                data-testid="ping-button"
                disabled=move || !hydrated.get() || ping.pending().get()
                on:click=move |_| {
                    ping.dispatch(Ping { name: "shopper".to_owned() });
                }
            >
                "Ask the server"
            </button>
            <p data-testid="ping-reply" aria-live="polite">{reply}</p>
        </section>
    }
}
