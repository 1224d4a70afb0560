//! The checkout page's data for one session: read once per page (the order from the store),
//! for the page's render and for the page cache's key.

use crate::domain::{CheckoutError, CheckoutView};
use crate::i18n::Locale;
use crate::server::session::Session;
use crate::server::state::AppState;

/// What the page shows this session, in `locale`.
pub async fn checkout_view(
    state: &AppState,
    session: &Session,
    locale: Locale,
) -> Result<CheckoutView, CheckoutError> {
    // One read of the order per page; a glance writes nothing (the order is stored when it
    // first changes), and a finished order makes the next visit start a new one.
    let order_id = session.id_or_new(state);
    let order = if session.order_named_now() {
        // A first visit (or a finished order's next): its order was just named, so there is
        // nothing to read.
        crate::server::store::Order::unsaved(&order_id, &state.catalogue)
    } else {
        match state.orders.get(&order_id).await? {
            Some(order) if !order.status.is_finished() => order,
            Some(_) => {
                crate::server::store::Order::unsaved(&session.start_new(state), &state.catalogue)
            }
            None => crate::server::store::Order::unsaved(&order_id, &state.catalogue),
        }
    };
    Ok(CheckoutView {
        locale,
        shop_name: state.shop_name.clone(),
        order: state.catalogue.localize_summary(order.summary(), locale),
        products: state.catalogue.localized(locale),
        stripe: state.stripe_js.clone(),
        local_emulator: state.local_emulator,
        saved_cards: crate::server::payments::saved_cards::saved_cards(state, session).await?,
    })
}
