//! An order is fulfilled once, and only by its own intent for its exact amount and currency
//! at that moment, checked in the statement that marks it paid (the `orders_fulfilled`
//! trigger records the fulfilment in it); then what Stripe captured and refunded of it.

use super::lease::Lease;
use super::sql::Sql;
use super::{now, queue, status_in, OrderStore, StoreError, NOTHING_UNSETTLED};
use crate::domain::order::order_total;
use crate::domain::{OrderStatus, PaymentEvent};
use sqlx::Row;

/// The card a payment was made with, as Stripe reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardShown {
    pub brand: Option<String>,
    pub last4: Option<String>,
}

/// A payment that may fulfil an order: its intent, what it paid, and how (`Succeeded` or
/// `Authorised`).
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    pub payment_intent_id: &'a str,
    pub event: PaymentEvent,
    pub amount: i64,
    pub currency: &'a str,
}

/// What [`OrderStore::fulfil`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fulfilment {
    /// This call fulfilled the order.
    Fulfilled,
    /// The same intent had already fulfilled it.
    AlreadyFulfilled,
    /// The intent's amount or currency is not the order's now.
    Mismatch {
        order_amount: i64,
        order_currency: String,
    },
    /// The order is in a status that cannot be fulfilled (e.g. under review), or bound to
    /// another intent.
    NotFulfillable(OrderStatus),
}

impl OrderStore {
    /// Marks the order paid (`Succeeded`) or authorised (`Authorised`) and fulfils it, in one
    /// statement (the `orders_fulfilled` trigger records the fulfilment), only if the payment's
    /// intent is the order's and its amount and currency are the order's total and currency at
    /// this moment.
    pub async fn fulfil(
        &self,
        lease: &Lease,
        payment: Payment<'_>,
        card: CardShown,
    ) -> Result<Fulfilment, StoreError> {
        if self.fulfil_if(lease, None, &payment, card).await? {
            return Ok(Fulfilment::Fulfilled);
        }
        // Nothing changed: say why.
        let Some(order) = self.get(&lease.order_id).await? else {
            return Ok(Fulfilment::NotFulfillable(OrderStatus::Open));
        };
        if order.status.is_fulfilled() {
            let by_this = order.payment_intent_id.as_deref() == Some(payment.payment_intent_id);
            return Ok(if by_this {
                Fulfilment::AlreadyFulfilled
            } else {
                Fulfilment::NotFulfillable(order.status)
            });
        }
        if order.payment_intent_id.as_deref() != Some(payment.payment_intent_id)
            || order.status.after(payment.event).is_none()
            || order.request.is_some()
        {
            return Ok(Fulfilment::NotFulfillable(order.status));
        }
        Ok(Fulfilment::Mismatch {
            order_amount: order_total(&order.lines).unwrap_or(0),
            order_currency: order.currency,
        })
    }

    /// [`OrderStore::attach_intent`] (answering the request `answered`) then
    /// [`OrderStore::fulfil`] in one statement, for the common answer (a payment of this order
    /// that succeeded): true when both held and the order is fulfilled. The lease goes back in
    /// the same statement (nothing is left to do under it). False changes nothing: the caller
    /// takes the steps one by one, and they say why.
    pub async fn bind_and_fulfil(
        &self,
        lease: &Lease,
        answered: &str,
        payment: Payment<'_>,
        card: CardShown,
    ) -> Result<bool, StoreError> {
        let fulfilled = self
            .fulfil_if(lease, Some(answered), &payment, card)
            .await?;
        if fulfilled {
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(lease.token());
            lease.mark_released();
        }
        Ok(fulfilled)
    }

    /// The fulfilling UPDATE. With `answered` it also binds the intent (as `attach_intent`
    /// does: only an order bound to no other intent), answers that request and gives the lease
    /// back; without, the order must be bound to the intent already, with nothing unsettled.
    async fn fulfil_if(
        &self,
        lease: &Lease,
        answered: Option<&str>,
        payment: &Payment<'_>,
        card: CardShown,
    ) -> Result<bool, StoreError> {
        let Payment {
            payment_intent_id,
            event,
            amount,
            currency,
        } = *payment;
        debug_assert!(matches!(
            event,
            PaymentEvent::Succeeded | PaymentEvent::Authorised
        ));
        let t = now();
        let mut sql = Sql::new("UPDATE orders SET status = ?, card_brand = ?, card_last4 = ?, last_error = NULL, updated_at = ?, amount_captured = ?,")
            .bind(event.outcome().as_str())
            .bind(card.brand)
            .bind(card.last4)
            .bind(t)
            // An authorisation has captured nothing yet.
            .bind(if event == PaymentEvent::Succeeded { amount } else { 0 })
            .join(queue::next_check_after_move(self.watch.after_move(event.outcome()), answered.is_some()));
        sql = match answered {
            Some(key) => sql
                .push(
                    ", payment_intent_id = ?, request_key = NULL, request_call = NULL, request_sent_at = NULL, lookup_cursor = NULL,
                     lease_token = NULL, lease_expires_at = NULL WHERE request_key = ? AND (payment_intent_id IS NULL OR payment_intent_id = ?)",
                )
                .bind(payment_intent_id)
                .bind(key)
                .bind(payment_intent_id),
            None => sql.push(&format!(" WHERE payment_intent_id = ?{NOTHING_UNSETTLED}")).bind(payment_intent_id),
        };
        let sql = sql
            .push(&format!(
                " AND {} AND currency = ? AND (SELECT COALESCE(SUM(quantity * unit_amount), 0) FROM order_lines WHERE order_id = orders.id) = ?",
                status_in(OrderStatus::before(event))
            ))
            .bind(currency)
            .bind(amount)
            .join(lease.holds());
        let fulfilled = self.write(lease, sql).await?;
        if fulfilled {
            tracing::info!(order_id = %lease.order_id, payment_intent_id, amount, "order fulfilled");
        }
        Ok(fulfilled)
    }

    /// Ends an authorisation as `event` says (captured, canceled or expired), recording what
    /// Stripe captured; false when the order is no longer authorised (ended meanwhile).
    pub async fn end_authorisation(
        &self,
        lease: &Lease,
        event: PaymentEvent,
        amount_captured: i64,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET status = ?, amount_captured = ?, last_error = NULL, updated_at = ?, next_check_at = NULL, checks = 0")
            .bind(event.outcome().as_str())
            .bind(amount_captured)
            .bind(now())
            .push(&format!(" WHERE {}{NOTHING_UNSETTLED}", status_in(OrderStatus::before(event))))
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// Records what Stripe's charge says was captured and refunded of a paid order. Amounts
    /// only grow: an older read never undoes a newer one.
    pub async fn set_refunded(
        &self,
        lease: &Lease,
        amount_captured: i64,
        amount_refunded: i64,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET amount_captured = ?, amount_refunded = CASE WHEN amount_refunded > ? THEN amount_refunded ELSE ? END,")
            .bind(amount_captured)
            .bind(amount_refunded)
            .bind(amount_refunded)
            .push(" updated_at = ? WHERE status = 'paid' AND ? <= ?")
            .bind(now())
            .bind(amount_refunded)
            .bind(amount_captured)
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// The back office's refund `key` was answered: `amount` more is refunded, written with the
    /// answer in one statement, so a reload shows it even if Stripe's totals cannot be read.
    pub async fn refund_answered(
        &self,
        lease: &Lease,
        key: &str,
        amount: i64,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET request_key = NULL, request_call = NULL, request_sent_at = NULL, next_check_at = NULL, checks = 0,")
            .push(" amount_refunded = CASE WHEN amount_refunded + ? > amount_captured THEN amount_captured ELSE amount_refunded + ? END, updated_at = ?")
            .bind(amount)
            .bind(amount)
            .bind(now())
            .push(" WHERE request_key = ?")
            .bind(key)
            .join(lease.holds());
        self.write(lease, sql).await
    }

    /// Remembers the refund of a mismatched payment, so it is made once; the order is then
    /// not looked at again.
    pub async fn record_review_refund(
        &self,
        lease: &Lease,
        refund: &str,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new(
            "UPDATE orders SET review_refund = ?, updated_at = ?, next_check_at = NULL, checks = 0",
        )
        .bind(refund)
        .bind(now())
        .push(&format!(
            " WHERE status = 'needs_review'{NOTHING_UNSETTLED}"
        ))
        .join(lease.holds());
        self.write(lease, sql).await
    }

    /// How often the order was fulfilled (0 or 1).
    pub async fn fulfilment_count(&self, order_id: &str) -> Result<i64, StoreError> {
        let row = Sql::new("SELECT COUNT(*) AS n FROM fulfilments WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get("n"))
    }
}
