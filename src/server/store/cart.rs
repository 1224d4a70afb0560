//! The cart: it changes only while no money moves or may move (an editable status, no
//! request to Stripe unsettled, nobody holding the order).

use super::lease::lease_free;
use super::sql::Sql;
use super::{now, status_in, OrderStore, StoreError, NOTHING_UNSETTLED};
use crate::domain::{OrderLine, OrderStatus};

impl OrderStore {
    /// Sets a line's quantity (0 removes it) while the cart may change: an editable status,
    /// nothing sent to Stripe without its answer, and nobody holding the order. Returns false
    /// when it may not (a payment is under way, may have happened, or happened), changing
    /// nothing.
    pub async fn set_line(
        &self,
        order_id: &str,
        line: &OrderLine,
        position: i64,
    ) -> Result<bool, StoreError> {
        let t = now();
        let mut tx = self.pool.begin().await?;
        let editable = status_in(OrderStatus::ALL.into_iter().filter(|s| s.is_editable()));
        let may_change = Sql::new(&format!(
            "UPDATE orders SET updated_at = ? WHERE id = ? AND {editable}{NOTHING_UNSETTLED} AND "
        ))
        .bind(t)
        .bind(order_id)
        .join(lease_free(t));
        if may_change.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false);
        }
        let change = if line.quantity == 0 {
            Sql::new("DELETE FROM order_lines WHERE order_id = ? AND product_id = ?")
                .bind(order_id)
                .bind(&line.product_id)
        } else {
            Sql::new(
                "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (order_id, product_id) DO UPDATE SET quantity = excluded.quantity, unit_amount = excluded.unit_amount, name = excluded.name",
            )
            .bind(order_id)
            .bind(&line.product_id)
            .bind(&line.name)
            .bind(line.quantity)
            .bind(line.unit_amount)
            .bind(position)
        };
        change.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}
