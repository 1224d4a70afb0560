use leptos::prelude::*;

/// Says plainly that no real payment happens: the embedded emulator answers instead of Stripe.
#[component]
pub fn TestModeBanner() -> impl IntoView {
    view! {
        <div class="test-mode-banner" role="note" data-testid="test-mode-banner">
            "Test mode — local Stripe emulator. No real card is charged."
        </div>
    }
}
