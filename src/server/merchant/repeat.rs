//! "Charge again": a repeat of a paid order, charged by the merchant to the card the shopper
//! saved, without the shopper (`off_session=true`, `confirm=true`). A card whose bank wants
//! the cardholder is declined `authentication_required`, and the repeat order says the
//! customer must come back to authenticate.

use sha2::{Digest, Sha256};
use stripe_core::payment_intent::RetrievePaymentIntent;

use super::actions::ActionRequest;
use super::locale;
use crate::domain::order::order_total;
use crate::domain::{format_amount, CheckoutError, OrderStatus, PaymentOutcome, SavedCard};
use crate::i18n::td_string;
use crate::server::merchant::store::ActionState;
use crate::server::payments::attempts::Attempt;
use crate::server::payments::flow::{pay_leased, PaymentTerms};
use crate::server::payments::lease::under_lease;
use crate::server::payments::transport::send_read;
use crate::server::state::AppState;
use crate::server::store::AttemptPath;
use crate::server::store::Order;

/// The saved card a repeat of `order` is charged to: the one it was paid with, while its
/// shopper keeps it saved.
async fn card_for(state: &AppState, order: &Order) -> Option<SavedCard> {
    if !matches!(order.status, OrderStatus::Paid | OrderStatus::Authorised) {
        return None;
    }
    let customer = order.customer_id.as_deref()?;
    let browser_id = state.orders.shopper_of_customer(customer).await.ok()??;
    let cards = state.orders.saved_cards(&browser_id).await.ok()?;
    cards.into_iter().find(|c| {
        Some(&c.last4) == order.card_last4.as_ref() && Some(&c.brand) == order.card_brand.as_ref()
    })
}

/// What the order page offers to charge again, if anything.
pub async fn saved_card_for(state: &AppState, order: &Order) -> Option<String> {
    card_for(state, order)
        .await
        .map(|card| card.label(locale()))
}

/// The repeat order's id, from the action's key: a retried action finds the same order.
fn repeat_id(key: &str) -> String {
    let digest = Sha256::digest(format!("repeat-{key}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("ord_{}", &hex[..20])
}

fn refused(message: impl std::fmt::Display) -> Result<ActionState, CheckoutError> {
    Ok(ActionState::Refused(message.to_string()))
}

/// Charges a repeat of `source` to its saved card: what was done, or `Err` when it may be
/// sent again (the repeat order's id comes from the action's key, so it is the same order).
pub async fn charge_again(
    state: &AppState,
    source: &Order,
    request: &ActionRequest,
) -> Result<ActionState, CheckoutError> {
    let Some(card) = card_for(state, source).await else {
        return refused(td_string!(locale(), merchant.no_saved_card));
    };
    let Some(customer_id) = source.customer_id.clone() else {
        return refused(td_string!(locale(), merchant.no_customer));
    };
    let id = repeat_id(&request.key);
    state
        .orders
        .open_repeat_order(&id, source, &card.payment_method_id)
        .await?;
    let terms = PaymentTerms {
        customer_id: Some(customer_id),
        save_card: false,
    };
    let attempt = Attempt::record(state, &id, AttemptPath::BackOffice).await;
    let paid = under_lease(state, &id, async |lease| {
        pay_leased(state, lease, None, &card.payment_method_id, &terms).await
    })
    .await;
    attempt.end(state, &paid).await;
    let Some(repeat) = state.orders.get(&id).await? else {
        return refused(td_string!(locale(), merchant.repeat_not_stored));
    };
    let locale = locale();
    let amount = format_amount(
        order_total(&repeat.lines).unwrap_or(0),
        &repeat.currency,
        locale,
    );
    let reference = repeat.reference.clone();
    match paid {
        Ok(PaymentOutcome::Completed(receipt)) => {
            let card = card.label(locale);
            let done = if receipt.status == OrderStatus::Authorised {
                td_string!(locale, merchant.repeat_authorised, amount, card, reference).to_string()
            } else {
                td_string!(locale, merchant.repeat_charged, amount, card, reference).to_string()
            };
            Ok(ActionState::Done(done))
        }
        Ok(PaymentOutcome::RequiresAction { .. }) | Err(CheckoutError::Declined(_)) => {
            let reason = decline_reason(state, &repeat).await;
            let message = if reason == "authentication_required" {
                "authentication_required: the customer must come back to authenticate this payment"
                    .to_owned()
            } else {
                format!("{reason}: the card was declined")
            };
            state.orders.set_last_error(&repeat.id, &message).await?;
            refused(td_string!(
                locale,
                merchant.repeat_not_paid,
                reference,
                reason = message
            ))
        }
        Err(
            err @ (CheckoutError::PaymentServiceUnavailable
            | CheckoutError::ShopUnavailable
            | CheckoutError::PaymentInProgress),
        ) => Err(err),
        Err(err) => refused(td_string!(
            locale,
            merchant.repeat_failed,
            reference,
            reason = err.message(locale)
        )),
    }
}

/// Stripe's code for why the repeat order's intent was declined.
async fn decline_reason(state: &AppState, repeat: &Order) -> String {
    let Some(pi) = &repeat.payment_intent_id else {
        return "card_declined".into();
    };
    match send_read(state, &repeat.id, &RetrievePaymentIntent::new(pi.as_str())).await {
        Ok(pi) => pi
            .last_payment_error
            .as_deref()
            .and_then(|e| {
                e.decline_code
                    .clone()
                    .or_else(|| e.code.as_ref().map(|c| c.as_str().to_owned()))
            })
            .unwrap_or_else(|| {
                if pi.status == stripe_shared::PaymentIntentStatus::RequiresAction {
                    "authentication_required".into()
                } else {
                    "card_declined".into()
                }
            }),
        Err(_) => "card_declined".into(),
    }
}
