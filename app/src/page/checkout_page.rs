//! The checkout page around its island: the page's data, the shop's name, the language switch.

use leptos::prelude::*;

use checkout::api::cart::load_checkout;
use checkout::components::{LanguageSwitch, TestModeBanner};
use checkout::domain::CheckoutError;
use checkout::domain::CheckoutView;
use checkout::i18n::{td_string, Locale};

use checkout_island::checkout_form::CHECKOUT_VIEW_ID;
use checkout_island::CheckoutForm;

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let locale = use_context::<Locale>().unwrap_or_default();
    let checkout = Resource::new_blocking(|| (), |_| load_checkout());
    view! {
        <Suspense fallback=move || view! { <p>{td_string!(locale, page.loading)}</p> }>
            {move || Suspend::new(async move { page(checkout.await, locale) })}
        </Suspense>
    }
}

/// The page once its data is in. Kept out of the async block above: its markup is then no
/// part of that block's type, and editing it recompiles this function only (measured with
/// scripts/bench-dev-loop.sh).
fn page(checkout: Result<CheckoutView, CheckoutError>, locale: Locale) -> AnyView {
    match checkout {
        Ok(view) => {
            let banner = view
                .local_emulator
                .then(|| view! { <TestModeBanner locale/> });
            let shop_name = view.shop_name.clone();
            // The island's data: in context for its render here, in the page for the browser.
            let data = checkout::domain::wire::page_data(&view);
            provide_context(view);
            view! {
                {banner}
                <LanguageSwitch current=locale return_to="/"/>
                <h1>{td_string!(locale, page.title)}</h1>
                <p class="shop-name">{shop_name}</p>
                <script type="application/json" id=CHECKOUT_VIEW_ID inner_html=data></script>
                <CheckoutForm/>
            }
            .into_any()
        }
        Err(err) => view! {
            <LanguageSwitch current=locale return_to="/"/>
            <h1>{td_string!(locale, page.title)}</h1>
            <p role="alert" data-testid="payment-error">{err.message(locale)}</p>
        }
        .into_any(),
    }
}
