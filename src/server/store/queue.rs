//! The reconciler's due-queue. Each order that needs watching has the time it is next looked
//! at (`next_check_at`, indexed; NULL for the others). A pass takes the orders due by then,
//! earliest first, each under its lease, and pushes each back as it takes it, by a backoff
//! that grows with the times it was looked at and found unchanged. So no set of orders can
//! hold the head of the queue, and a pass reads what is due, not what is in the table.
//!
//! What the server learns about an order (an answer, a read) schedules it anew: every write
//! that moves an order sets its next check from [`Watch::next`] for where it now stands.

use std::time::Duration;

use sqlx::Row;

use super::lease::{lease_end, lease_free, Lease, Taking};
use super::sql::Sql;
use super::{now, OrderStore, StoreError};
use crate::domain::OrderStatus;

/// The longest an unchanged order waits between two looks.
const LONGEST_WAIT_SECONDS: i64 = 3600;
/// The longest a request without its answer waits between two replays.
const LONGEST_REPLAY_WAIT_SECONDS: i64 = 900;
/// The first wait for a `processing` payment (shorter than the grace, if the grace is longer).
const PROCESSING_FIRST_WAIT_SECONDS: i64 = 5;
/// How long a 3-D Secure left waiting, or a declined payment, is watched: Stripe fails an
/// unconfirmed 3-D Secure back after an hour; after two nothing more is expected of it.
const WATCHED_FOR_SECONDS: i64 = 2 * 3600;

/// When orders are looked at (the reconciler's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    /// The first wait: what a shopper is left to finish by themselves (`CHECKOUT_RECONCILE_GRACE_SECONDS`).
    pub grace: Duration,
    /// Between two reads of a held authorisation (`CHECKOUT_AUTHORISATION_CHECK_SECONDS`).
    pub authorisation_check: Duration,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            grace: Duration::from_secs(30),
            authorisation_check: Duration::from_secs(3600),
        }
    }
}

/// What decides when an order is next looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watched {
    pub status: OrderStatus,
    /// When it last moved (its `updated_at`).
    pub since: i64,
    /// How often it was looked at and found unchanged since.
    pub checks: i64,
    pub has_request: bool,
    pub has_intent: bool,
    pub review_refund_made: bool,
    pub needs_merchant: bool,
}

impl Watch {
    /// After the grace: the first look at an order that just moved, or a request just sent.
    pub(super) fn soon(&self) -> i64 {
        now() + self.grace_seconds()
    }

    fn grace_seconds(&self) -> i64 {
        self.grace.as_secs().max(1) as i64
    }

    /// The wait after `checks` unchanged looks: `first`, then four times longer each time.
    fn backoff(first: i64, checks: i64, longest: i64) -> i64 {
        let factor = 4_i64.saturating_pow(checks.clamp(0, 20) as u32);
        first.saturating_mul(factor).min(longest)
    }

    /// When an order standing as `w` is next looked at, from `now`; `None`: never again
    /// (it is settled, or needs the merchant).
    pub fn next(&self, w: &Watched, now: i64) -> Option<i64> {
        if w.needs_merchant {
            return None;
        }
        let grace = self.grace_seconds();
        if w.has_request {
            // Replayed until answered; after Stripe's 24 hours, settled by what Stripe holds.
            return Some(now + Watch::backoff(grace, w.checks, LONGEST_REPLAY_WAIT_SECONDS));
        }
        let wait = Watch::backoff(grace, w.checks, LONGEST_WAIT_SECONDS);
        match w.status {
            // No shopper to leave time to: the bank usually answers within seconds.
            OrderStatus::Processing if w.has_intent => Some(
                now + Watch::backoff(
                    grace.min(PROCESSING_FIRST_WAIT_SECONDS),
                    w.checks,
                    LONGEST_WAIT_SECONDS,
                ),
            ),
            // Left with the cardholder, or declined: a few looks, the last once Stripe's hour
            // for 3-D Secure is over.
            OrderStatus::RequiresAction | OrderStatus::Failed if w.has_intent => {
                let last = w.since + WATCHED_FOR_SECONDS;
                (now < last).then(|| (now + wait).min(last))
            }
            OrderStatus::NeedsReview if w.has_intent && !w.review_refund_made => Some(now + wait),
            OrderStatus::Authorised => Some(now + self.authorisation_check.as_secs().max(1) as i64),
            _ => None,
        }
    }

    /// The next look at an order that has just moved to `status` (with an intent, no request
    /// left, no refund made yet): the `?` a moving write binds (see [`next_check_after_move`]).
    pub(super) fn after_move(&self, status: OrderStatus) -> Option<i64> {
        let t = now();
        let moved = Watched {
            status,
            since: t,
            checks: 0,
            has_request: false,
            has_intent: true,
            review_refund_made: false,
            needs_merchant: false,
        };
        self.next(&moved, t)
    }
}

/// `next_check_at = …, checks = 0` for a write that moves the order to a status whose next look
/// is `next` (from [`Watch::after_move`]): none for an order the merchant must look at, nor
/// for one without an intent, unless the write binds it one (`binds_intent`: the condition
/// reads the row as it was).
pub(super) fn next_check_after_move(next: Option<i64>, binds_intent: bool) -> Sql {
    let without_intent = if binds_intent {
        ""
    } else {
        "payment_intent_id IS NULL OR "
    };
    Sql::new(&format!(" next_check_at = CASE WHEN {without_intent}attention IS NOT NULL THEN NULL ELSE ? END, checks = 0")).bind(next)
}

/// The due orders' query: it reads the due index, as far as the due go, never the table.
pub(super) fn due_query(by: i64, limit: i64) -> Sql {
    Sql::new("SELECT id, status, updated_at, checks, request_key, payment_intent_id, review_refund, attention FROM orders WHERE next_check_at <= ? AND ")
        .bind(by)
        .join(lease_free(now()))
        .push(" ORDER BY next_check_at LIMIT ?")
        .bind(limit)
}

/// An order due for a look, as the queue hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueOrder {
    pub id: String,
    pub watched: Watched,
}

impl OrderStore {
    /// Up to `limit` orders due by `by` that nobody holds, earliest due first.
    pub async fn due(&self, by: i64, limit: i64) -> Result<Vec<DueOrder>, StoreError> {
        let sql = due_query(by, limit);
        let rows = sql.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.get("id");
                let status = super::status_of(&id, row.get("status"))?;
                let watched = Watched {
                    status,
                    since: row.get("updated_at"),
                    checks: row.get("checks"),
                    has_request: row.get::<Option<String>, _>("request_key").is_some(),
                    has_intent: row.get::<Option<String>, _>("payment_intent_id").is_some(),
                    review_refund_made: row.get::<Option<String>, _>("review_refund").is_some(),
                    needs_merchant: row.get::<Option<String>, _>("attention").is_some(),
                };
                Ok(DueOrder { id, watched })
            })
            .collect()
    }

    /// Takes a due order's lease for a look, and pushes its next look back by its backoff (one
    /// statement): if the look finds it unchanged, nothing more is written. `None` when it is
    /// no longer due by `by`, or another holder has it.
    pub async fn take_due(
        &self,
        due: &DueOrder,
        by: i64,
        lease: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let t = now();
        let next = self.watch.next(
            &Watched {
                checks: due.watched.checks + 1,
                ..due.watched
            },
            t,
        );
        let taken = Lease::new(&due.id);
        for taking in [Taking::Free, Taking::Expired] {
            let sql = Sql::new("UPDATE orders SET lease_token = ?, lease_expires_at = ?, checks = checks + 1, next_check_at = ?")
                .bind(taken.token())
                .bind(lease_end(lease))
                .bind(next)
                .push(" WHERE id = ? AND next_check_at <= ? AND ")
                .bind(&due.id)
                .bind(by)
                .join(taking.condition(t));
            if sql.execute(&self.pool).await?.rows_affected() == 1 {
                if taking == Taking::Expired {
                    super::lease::taken_over(&due.id);
                }
                return Ok(Some(self.held(taken)));
            }
        }
        Ok(None)
    }

    /// The reconciler cannot settle the order on its own: the back office lists it, with why,
    /// and nothing looks at it again until the merchant asks ([`OrderStore::recheck`]).
    pub async fn needs_merchant(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        let sql = Sql::new(
            "UPDATE orders SET attention = ?, next_check_at = NULL, updated_at = ? WHERE true",
        )
        .bind(reason)
        .bind(now())
        .join(lease.holds());
        self.write(lease, sql).await?;
        tracing::error!(order_id = %lease.order_id, reason, "the order needs the merchant");
        Ok(())
    }

    /// The merchant has seen to an order that needed them: it is looked at again now.
    pub async fn recheck(&self, order_id: &str) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET attention = NULL, next_check_at = ?, checks = 0 WHERE id = ? AND attention IS NOT NULL").bind(now()).bind(order_id);
        Ok(sql.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// How many orders are due by `by` (whoever holds them): the reconciler's backlog.
    pub async fn due_count(&self, by: i64) -> Result<i64, StoreError> {
        Ok(self.backlog(by).await?.due)
    }

    /// The reconciler's backlog at `by`, from the due and attention indexes, not the table.
    pub async fn backlog(&self, by: i64) -> Result<Backlog, StoreError> {
        let due = Sql::new(
            "SELECT COUNT(*) AS n, MIN(next_check_at) AS oldest FROM orders WHERE next_check_at <= ?",
        )
        .bind(by)
        .fetch_one(&self.pool)
        .await?;
        let watched = Sql::new("SELECT COUNT(*) AS n FROM orders WHERE next_check_at IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        let attention = Sql::new("SELECT COUNT(*) AS n FROM orders WHERE attention IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(Backlog {
            due: due.try_get("n")?,
            oldest_due_at: due.try_get("oldest")?,
            watched: watched.try_get("n")?,
            needs_merchant: attention.try_get("n")?,
        })
    }
}

/// What the reconciler has before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Orders due now, and when the earliest of them fell due.
    pub due: i64,
    pub oldest_due_at: Option<i64>,
    /// Orders on the queue at all (due later included).
    pub watched: i64,
    /// Orders left to the merchant.
    pub needs_merchant: i64,
}
