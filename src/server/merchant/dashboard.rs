//! The dashboard (`/merchant/dashboard`): what the shop's payments came to today and over the
//! week, why cards were declined, what waits for the merchant or the reconciler, payments
//! hour by hour, and the decline alarm. All from the database, so every server shows the same.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::*;
use crate::server::card_testing::alarm::{self, DeclineRate};
use crate::server::store::attempts::OutcomeTotal;
use crate::server::store::{now, AttemptOutcome, Backlog};

/// Hours the chart shows, the current one last.
pub const HOURS: i64 = 24;

/// One hour of the chart: its attempts by how they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hour {
    /// Unix time the hour starts.
    pub start: i64,
    /// Succeeded or authorised.
    pub paid: i64,
    /// Declined, or the card's authentication failed.
    pub declined: i64,
    /// Anything else: waiting for 3-D Secure, processing, failed, under way.
    pub other: i64,
}

impl Hour {
    pub fn total(&self) -> i64 {
        self.paid + self.declined + self.other
    }
}

pub struct Dashboard {
    pub now: i64,
    pub currency: String,
    pub today: Vec<OutcomeTotal>,
    pub week: Vec<OutcomeTotal>,
    pub reasons: Vec<(String, i64)>,
    pub hours: Vec<Hour>,
    pub backlog: Backlog,
    pub rate: DeclineRate,
}

pub(super) async fn dashboard(State(state): State<Arc<AppState>>) -> Result<Response, Problem> {
    let t = now();
    let midnight = t - t.rem_euclid(86_400);
    let week = t - 7 * 86_400;
    let first_hour = (t / 3600 - (HOURS - 1)) * 3600;
    let store = &state.orders;
    let (today, week, reasons, by_hour, backlog, rate) = tokio::try_join!(
        store.outcome_totals(midnight),
        store.outcome_totals(week),
        store.decline_reasons(week),
        store.attempts_by_hour(first_hour),
        store.backlog(t),
        alarm::current(&state),
    )
    .map_err(server_problem)?;
    let dashboard = Dashboard {
        now: t,
        currency: state.currency.to_string(),
        today,
        week,
        reasons,
        hours: hours(first_hour, &by_hour),
        backlog,
        rate,
    };
    Ok(page(StatusCode::OK, pages::dashboard(&dashboard)))
}

/// Every hour from `first` to now, empty ones included.
fn hours(first: i64, counted: &[(i64, AttemptOutcome, i64)]) -> Vec<Hour> {
    let mut hours: Vec<Hour> = (0..HOURS)
        .map(|i| Hour {
            start: first + i * 3600,
            ..Hour::default()
        })
        .collect();
    for &(hour, outcome, count) in counted {
        let Some(slot) = hours.iter_mut().find(|h| h.start == hour * 3600) else {
            continue;
        };
        match outcome {
            AttemptOutcome::Succeeded | AttemptOutcome::Authorised => slot.paid += count,
            AttemptOutcome::Declined | AttemptOutcome::AuthenticationFailed => {
                slot.declined += count
            }
            _ => slot.other += count,
        }
    }
    hours
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hour_is_shown_and_each_attempt_in_its_own() {
        let first = 1_800_000_000 / 3600 * 3600;
        let hours = hours(
            first,
            &[
                (first / 3600, AttemptOutcome::Succeeded, 3),
                (first / 3600, AttemptOutcome::Declined, 2),
                (first / 3600 + 23, AttemptOutcome::Authorised, 1),
                (first / 3600 + 23, AttemptOutcome::RequiresAction, 4),
                (first / 3600 - 1, AttemptOutcome::Succeeded, 9),
            ],
        );
        assert_eq!(hours.len(), HOURS as usize);
        assert_eq!(
            (hours[0].paid, hours[0].declined, hours[0].other),
            (3, 2, 0)
        );
        assert_eq!((hours[23].paid, hours[23].other), (1, 4));
        assert_eq!(
            hours.iter().map(Hour::total).sum::<i64>(),
            10,
            "the hour before is not shown"
        );
    }
}
