use leptos::prelude::*;

use crate::i18n::{td_string, Locale};

/// Says plainly that no real payment happens: the embedded emulator answers instead of Stripe.
#[component]
pub fn TestModeBanner(locale: Locale) -> impl IntoView {
    view! {
        <div class="test-mode-banner" role="note" data-testid="test-mode-banner">
            {td_string!(locale, page.test_mode)}
        </div>
    }
}
