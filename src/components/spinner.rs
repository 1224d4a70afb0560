use leptos::prelude::*;

use crate::components::use_locale;
use crate::i18n::td_string;

#[component]
pub fn Spinner() -> impl IntoView {
    let locale = use_locale();
    view! { <span class="spinner" data-testid="spinner" role="status" aria-label=td_string!(locale, payment.processing)></span> }
}
