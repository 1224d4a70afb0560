use leptos::prelude::*;

use checkout::components::use_locale;
use checkout::i18n::td_string;

#[component]
pub fn Spinner() -> impl IntoView {
    let locale = use_locale();
    view! { <span class="spinner" data-testid="spinner" role="status" aria-label=td_string!(locale, payment.processing)></span> }
}
