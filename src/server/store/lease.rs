//! Leases: one holder at a time talks to Stripe about an order (a request of this server or
//! another, or the reconciler), and one server at a time runs the reconciler's passes.
//!
//! A lease lasts a few seconds and its holder renews it while its step runs (see
//! `payments::lease`), so the orders of a server that died are free again within seconds,
//! whatever Stripe's timeouts are. Every write made under a lease checks, in the same
//! statement, that its holder still holds it; a holder that lost it writes nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::Row;

use super::sql::Sql;
use super::{now, random_string, OrderStore, StoreError};

/// This holder's lease on an order.
#[derive(Debug)]
pub struct Lease {
    pub order_id: String,
    token: String,
    /// Given back already, by the statement that fulfilled the order.
    released: AtomicBool,
}

impl Lease {
    /// A lease on `order_id` with a new token, not taken yet.
    pub(super) fn new(order_id: &str) -> Lease {
        Lease {
            order_id: order_id.to_owned(),
            token: random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 24),
            released: AtomicBool::new(false),
        }
    }

    pub(super) fn token(&self) -> &str {
        &self.token
    }

    /// The condition every write under this lease ends with: this order, still this lease's.
    pub(super) fn holds(&self) -> Sql {
        Sql::new(" AND id = ? AND lease_token = ?")
            .bind(&self.order_id)
            .bind(&self.token)
    }

    /// The statement that fulfilled the order gave the lease back too.
    pub(super) fn mark_released(&self) {
        self.released.store(true, Ordering::Release);
    }
}

/// Orders nobody holds: never leased, or the lease ran out. Qualified, so it reads the stored
/// row in an upsert too.
pub(super) fn lease_free(now: i64) -> Sql {
    Sql::new("(orders.lease_token IS NULL OR orders.lease_expires_at < ?)").bind(now)
}

/// The two ways an order's lease is taken: it is free, or its holder's lease ran out (a
/// server died or stalled mid-step: a takeover, counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Taking {
    Free,
    Expired,
}

impl Taking {
    /// The condition an update that takes the lease this way ends with.
    pub(super) fn condition(self, now: i64) -> Sql {
        match self {
            Taking::Free => Sql::new("orders.lease_token IS NULL"),
            Taking::Expired => {
                Sql::new("orders.lease_token IS NOT NULL AND orders.lease_expires_at < ?").bind(now)
            }
        }
    }
}

/// A lease taken from a holder whose lease ran out: logged and counted.
pub(super) fn taken_over(order_id: &str) {
    tracing::warn!(
        order_id,
        "order lease taken over: its holder's lease ran out"
    );
    crate::server::telemetry::record::lease_taken_over();
}

/// When a lease taken now for `lease` runs out (Unix seconds; at least a second from now).
pub(super) fn lease_end(lease: Duration) -> i64 {
    now() + lease.as_secs().max(1) as i64
}

impl OrderStore {
    /// Runs a write made under `lease` (its statement ends with [`Lease::holds`]): whether it
    /// changed the order, or `LeaseLost` when this holder no longer holds the lease.
    pub(super) async fn write(&self, lease: &Lease, sql: Sql) -> Result<bool, StoreError> {
        if sql.execute(&self.pool).await?.rows_affected() == 1 {
            return Ok(true);
        }
        if self.lease_held(lease).await? {
            Ok(false)
        } else {
            Err(StoreError::LeaseLost(lease.order_id.clone()))
        }
    }

    /// Whether the lease is still this holder's.
    pub async fn lease_held(&self, lease: &Lease) -> Result<bool, StoreError> {
        let row = Sql::new("SELECT 1 FROM orders WHERE true")
            .join(lease.holds())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Takes the order's lease for `lease`, unless another holder has it.
    pub async fn take_lease(
        &self,
        order_id: &str,
        lease: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let taken = Lease::new(order_id);
        for taking in [Taking::Free, Taking::Expired] {
            let sql = Sql::new(
                "UPDATE orders SET lease_token = ?, lease_expires_at = ? WHERE id = ? AND ",
            )
            .bind(&taken.token)
            .bind(lease_end(lease))
            .bind(order_id)
            .join(taking.condition(now()));
            if sql.execute(&self.pool).await?.rows_affected() == 1 {
                if taking == Taking::Expired {
                    taken_over(order_id);
                }
                return Ok(Some(self.held(taken)));
            }
        }
        Ok(None)
    }

    /// Extends the lease by `lease` from now: false when it was lost (it ran out and another
    /// holder took it).
    pub async fn renew_lease(&self, lease: &Lease, duration: Duration) -> Result<bool, StoreError> {
        let sql = Sql::new("UPDATE orders SET lease_expires_at = ? WHERE true")
            .bind(lease_end(duration))
            .join(lease.holds());
        Ok(sql.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Gives the lease back (a no-op if another holder has it by now, or it went back with
    /// the fulfilment).
    pub async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.forget_held(lease.token());
        if lease.released.load(Ordering::Acquire) {
            return Ok(());
        }
        Sql::new("UPDATE orders SET lease_token = NULL, lease_expires_at = NULL WHERE true")
            .join(lease.holds())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A lease taken now, kept in the list of this server's held leases until it goes back.
    pub(super) fn held(&self, lease: Lease) -> Lease {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(lease.token.clone(), lease.order_id.clone());
        lease
    }

    fn forget_held(&self, token: &str) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }

    /// Gives back every order lease this server still holds (at shutdown, once the requests
    /// that held them were answered or given up): the orders are free at once, not when their
    /// leases run out. How many went back.
    pub async fn release_all_held(&self) -> usize {
        let held: Vec<(String, String)> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        let mut released = 0;
        for (token, order_id) in held {
            let sql = Sql::new("UPDATE orders SET lease_token = NULL, lease_expires_at = NULL WHERE id = ? AND lease_token = ?").bind(order_id).bind(token);
            match sql.execute(&self.pool).await {
                Ok(done) => released += done.rows_affected() as usize,
                Err(err) => {
                    tracing::warn!(%err, "a lease could not be given back; it runs out by itself")
                }
            }
        }
        released
    }

    /// Takes, or renews, the lease on the work called `name` (done by one server at a time for
    /// them all) for `holder` until `lease` from now, unless another holder's lease is still
    /// running. Whether `holder` holds it now.
    pub async fn hold_server_lease(
        &self,
        name: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new("INSERT INTO server_leases (name, holder, expires_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(holder)
            .bind(lease_end(lease))
            .push(" ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at")
            .push(" WHERE server_leases.holder = excluded.holder OR server_leases.expires_at < ?")
            .bind(now());
        Ok(sql.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Gives the work's lease back, if `holder` has it (at shutdown: another server takes the
    /// passes over at once).
    pub async fn release_server_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        Sql::new("DELETE FROM server_leases WHERE name = ? AND holder = ?")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The order leases held now by anyone (tests, and the shutdown's check).
    pub async fn leases_held(&self) -> Result<i64, StoreError> {
        let row = Sql::new("SELECT COUNT(*) AS n FROM orders WHERE lease_token IS NOT NULL AND lease_expires_at >= ?").bind(now()).fetch_one(&self.pool).await?;
        Ok(row.get("n"))
    }
}
