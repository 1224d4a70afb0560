//! Statuses move only as the state machine allows (`OrderStatus::after`, whose conditions
//! the SQL is generated from), under the lease, and only while nothing is unsettled.

use super::lease::Lease;
use super::sql::Sql;
use super::{now, queue, status_in, OrderStore, StoreError, NOTHING_UNSETTLED};
use crate::domain::{OrderStatus, PaymentEvent};

impl OrderStore {
    /// Moves the order as `event` says, if its status allows it (see [`OrderStatus::after`])
    /// and nothing is unsettled on it; schedules its next look. Returns whether it moved.
    pub async fn record(
        &self,
        lease: &Lease,
        event: PaymentEvent,
        last_error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let target = event.outcome();
        let intent_reset = if event == PaymentEvent::IntentCanceled {
            ", payment_intent_id = NULL"
        } else {
            ""
        };
        let sql = Sql::new("UPDATE orders SET status = ?, last_error = ?, updated_at = ?,")
            .bind(target.as_str())
            .bind(last_error)
            .bind(now())
            .join(queue::next_check_after_move(
                self.watch.after_move(target),
                false,
            ))
            .push(&format!(
                "{intent_reset} WHERE {}{NOTHING_UNSETTLED}",
                status_in(OrderStatus::before(event))
            ))
            .join(lease.holds());
        self.write(lease, sql).await
    }
}
