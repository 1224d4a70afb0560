use leptos::prelude::*;

#[component]
pub fn Spinner() -> impl IntoView {
    view! { <span class="spinner" data-testid="spinner" role="status" aria-label="Processing payment"></span> }
}
