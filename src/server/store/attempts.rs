//! Payment attempts: each one a shopper (or the merchant) starts, stored as it starts and
//! ended with its outcome. The card-testing limits count them here, in the database every
//! server shares, and an attempt over a limit is refused by the statement that would store
//! it; the back office's dashboard sums them.

use sqlx::Row;

use super::sql::Sql;
use super::{random_key, Backend, OrderStore, StoreError};

/// Where an attempt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptPath {
    /// A card typed now (saved for later or not).
    NewCard,
    /// A card this browser saved.
    SavedCard,
    /// The confirmation after 3-D Secure.
    Reconfirm,
    /// The merchant charging a saved card again.
    BackOffice,
}

impl AttemptPath {
    pub const ALL: [AttemptPath; 4] = [
        AttemptPath::NewCard,
        AttemptPath::SavedCard,
        AttemptPath::Reconfirm,
        AttemptPath::BackOffice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptPath::NewCard => "new_card",
            AttemptPath::SavedCard => "saved_card",
            AttemptPath::Reconfirm => "reconfirm",
            AttemptPath::BackOffice => "back_office",
        }
    }

    /// The paths that offer a card: the ones card testing goes through, and the limits count.
    fn offers_a_card(self) -> bool {
        matches!(self, AttemptPath::NewCard | AttemptPath::SavedCard)
    }
}

/// How an attempt ended (`Started` until it has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttemptOutcome {
    Started,
    Succeeded,
    Authorised,
    Processing,
    RequiresAction,
    Declined,
    AuthenticationFailed,
    Review,
    Failed,
}

impl AttemptOutcome {
    pub const ALL: [AttemptOutcome; 9] = [
        AttemptOutcome::Succeeded,
        AttemptOutcome::Authorised,
        AttemptOutcome::Processing,
        AttemptOutcome::RequiresAction,
        AttemptOutcome::Declined,
        AttemptOutcome::AuthenticationFailed,
        AttemptOutcome::Review,
        AttemptOutcome::Failed,
        AttemptOutcome::Started,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Started => "started",
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Authorised => "authorised",
            AttemptOutcome::Processing => "processing",
            AttemptOutcome::RequiresAction => "requires_action",
            AttemptOutcome::Declined => "declined",
            AttemptOutcome::AuthenticationFailed => "authentication_failed",
            AttemptOutcome::Review => "review",
            AttemptOutcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<AttemptOutcome> {
        AttemptOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// The card-testing limits an attempt is admitted under (0 turns a limit off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    /// Declines on one order after which it takes no card for `order_cooling_seconds`.
    pub order_declines: i64,
    pub order_cooling_seconds: i64,
    /// Attempts with a card from one address in a minute.
    pub address_attempts_per_minute: i64,
    /// Declines from one address in an hour.
    pub address_declines_per_hour: i64,
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    OrderDeclines,
    AddressAttempts,
    AddressDeclines,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::OrderDeclines => "order_declines",
            Limit::AddressAttempts => "address_attempts",
            Limit::AddressDeclines => "address_declines",
        }
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Stored as started, with this id.
    Admitted(String),
    /// Over `limit`: not stored; it may be tried again in `retry_after` seconds.
    Refused { limit: Limit, retry_after: i64 },
}

/// One limit as SQL: the attempts it counts, over which window, how many it allows.
struct Rule {
    limit: Limit,
    counted: Sql,
    window: i64,
    allowed: i64,
}

/// The paths that offer a card, as an SQL list: `'new_card', 'saved_card'`.
fn card_paths() -> String {
    AttemptPath::ALL
        .into_iter()
        .filter(|p| p.offers_a_card())
        .map(|p| format!("'{}'", p.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rules(order_id: &str, client: Option<&str>, limits: &AttemptLimits) -> Vec<Rule> {
    let card_paths = card_paths();
    let mut rules = vec![Rule {
        limit: Limit::OrderDeclines,
        counted: Sql::new("order_id = ? AND outcome = 'declined'").bind(order_id),
        window: limits.order_cooling_seconds,
        allowed: limits.order_declines,
    }];
    if let Some(client) = client {
        rules.push(Rule {
            limit: Limit::AddressAttempts,
            counted: Sql::new(&format!("client = ? AND path IN ({card_paths})")).bind(client),
            window: 60,
            allowed: limits.address_attempts_per_minute,
        });
        rules.push(Rule {
            limit: Limit::AddressDeclines,
            counted: Sql::new("client = ? AND outcome = 'declined'").bind(client),
            window: 3600,
            allowed: limits.address_declines_per_hour,
        });
    }
    rules.retain(|r| r.allowed > 0 && r.window > 0);
    rules
}

/// The attempts of each outcome since a time, and what they were for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeTotal {
    pub outcome: AttemptOutcome,
    pub count: i64,
    /// The orders' totals, in the shop's currency's minor units.
    pub amount: i64,
}

impl OrderStore {
    /// Stores a card attempt as started unless a limit refuses it, in one statement: the
    /// limits count what every server stored. On PostgreSQL the attempts of one address (or,
    /// without one, of one order) are admitted one at a time, so concurrent ones cannot all
    /// slip under a limit.
    pub async fn admit_attempt(
        &self,
        order_id: &str,
        client: Option<&str>,
        path: AttemptPath,
        limits: &AttemptLimits,
        now: i64,
    ) -> Result<Admission, StoreError> {
        let id = format!("att_{}", random_key());
        let mut insert = Sql::new(
            "INSERT INTO attempts (id, order_id, client, path, outcome, created_at) SELECT ?, ?, ?, ?, 'started', ? WHERE true",
        )
        .bind(&id)
        .bind(order_id)
        .bind(client)
        .bind(path.as_str())
        .bind(now);
        let limited = path.offers_a_card();
        if limited {
            for rule in rules(order_id, client, limits) {
                insert = insert
                    .push(" AND (SELECT COUNT(*) FROM attempts WHERE ")
                    .join(rule.counted)
                    .push(" AND created_at > ?) < ?")
                    .bind(now - rule.window)
                    .bind(rule.allowed);
            }
        }
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres && limited {
            Sql::new("SELECT pg_advisory_xact_lock(?)")
                .bind(lock_key(client.unwrap_or(order_id)))
                .execute(&mut *tx)
                .await?;
        }
        let stored = insert.execute(&mut *tx).await?.rows_affected() == 1;
        tx.commit().await?;
        if stored {
            return Ok(Admission::Admitted(id));
        }
        // Refused: by which limit, and until when (the oldest of the attempts that fill it
        // leaves its window).
        let mut refusal: Option<(Limit, i64)> = None;
        for rule in rules(order_id, client, limits) {
            let row = Sql::new("SELECT created_at FROM attempts WHERE ")
                .join(rule.counted)
                .push(" AND created_at > ? ORDER BY created_at DESC LIMIT 1 OFFSET ?")
                .bind(now - rule.window)
                .bind(rule.allowed - 1)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                let free_at = row.try_get::<i64, _>(0)? + rule.window + 1;
                if refusal.is_none_or(|(_, at)| free_at > at) {
                    refusal = Some((rule.limit, free_at));
                }
            }
        }
        // No attempt fills a limit any more (they were forgotten meanwhile): a second from now.
        let (limit, free_at) = refusal.unwrap_or((Limit::OrderDeclines, now + 1));
        Ok(Admission::Refused {
            limit,
            retry_after: (free_at - now).max(1),
        })
    }

    /// Stores an attempt no limit applies to (a reconfirmation, the merchant's charge).
    pub async fn record_attempt(
        &self,
        order_id: &str,
        path: AttemptPath,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = format!("att_{}", random_key());
        Sql::new("INSERT INTO attempts (id, order_id, client, path, outcome, created_at) VALUES (?, ?, NULL, ?, 'started', ?)")
            .bind(&id)
            .bind(order_id)
            .bind(path.as_str())
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    /// Ends a started attempt with its outcome, and the order's total and currency then.
    pub async fn end_attempt(
        &self,
        id: &str,
        outcome: AttemptOutcome,
        reason: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new(
            "UPDATE attempts SET outcome = ?, reason = ?, ended_at = ?,
             amount = (SELECT COALESCE(SUM(quantity * unit_amount), 0) FROM order_lines WHERE order_id = attempts.order_id),
             currency = (SELECT currency FROM orders WHERE id = attempts.order_id)
             WHERE id = ? AND outcome = 'started'",
        )
        .bind(outcome.as_str())
        .bind(reason)
        .bind(now)
        .bind(id);
        Ok(sql.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Card attempts and declines since `since`, shop-wide (the decline-rate alarm).
    pub async fn decline_rate(&self, since: i64) -> Result<(i64, i64), StoreError> {
        let row = Sql::new(&format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'declined' THEN 1 ELSE 0 END), 0)
             FROM attempts WHERE created_at >= ? AND path IN ({})",
            card_paths()
        ))
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?))
    }

    /// The attempts of each outcome since `since`, with the sum of their orders' totals.
    pub async fn outcome_totals(&self, since: i64) -> Result<Vec<OutcomeTotal>, StoreError> {
        let rows = Sql::new(
            "SELECT outcome, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM attempts
             WHERE created_at >= ? GROUP BY outcome",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut totals = Vec::new();
        for row in rows {
            let text: String = row.try_get(0)?;
            let outcome = AttemptOutcome::parse(&text)
                .ok_or_else(|| StoreError::UnknownStatus("attempt".to_owned(), text))?;
            totals.push(OutcomeTotal {
                outcome,
                count: row.try_get(1)?,
                amount: row.try_get(2)?,
            });
        }
        totals.sort_by_key(|t| t.outcome);
        Ok(totals)
    }

    /// Declines since `since` by reason, most frequent first.
    pub async fn decline_reasons(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = Sql::new(
            "SELECT COALESCE(reason, 'card_declined') AS why, COUNT(*) AS n FROM attempts
             WHERE created_at >= ? AND outcome = 'declined' GROUP BY why ORDER BY n DESC, why",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Attempts since `since` by the hour they started in (Unix hour) and outcome.
    pub async fn attempts_by_hour(
        &self,
        since: i64,
    ) -> Result<Vec<(i64, AttemptOutcome, i64)>, StoreError> {
        let rows = Sql::new(
            "SELECT created_at / 3600 AS hour, outcome, COUNT(*) FROM attempts
             WHERE created_at >= ? GROUP BY hour, outcome ORDER BY hour",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut hours = Vec::new();
        for row in rows {
            let text: String = row.try_get(1)?;
            if let Some(outcome) = AttemptOutcome::parse(&text) {
                hours.push((row.try_get(0)?, outcome, row.try_get(2)?));
            }
        }
        Ok(hours)
    }

    /// Forgets attempts older than `before` (the dashboard shows a week, the limits an hour).
    pub async fn forget_attempts(&self, before: i64) -> Result<u64, StoreError> {
        let done = Sql::new("DELETE FROM attempts WHERE created_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// PostgreSQL's advisory locks take a 64-bit key: this text's FNV-1a hash.
fn lock_key(text: &str) -> i64 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash as i64
}
