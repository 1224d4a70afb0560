//! The shop-wide decline-rate alarm: card testing shows as a burst of declines across many
//! orders and addresses. Over the last `CHECKOUT_DECLINE_ALARM_WINDOW_SECONDS` (15 min), more
//! than `CHECKOUT_DECLINE_ALARM_PERCENT` (50) of at least `CHECKOUT_DECLINE_ALARM_MINIMUM` (20)
//! card attempts declined: logged, on the metrics, and a banner in the back office.

use std::sync::Arc;
use std::time::Duration;

use crate::server::state::AppState;
use crate::server::store::{now, StoreError};
use crate::server::telemetry::record;

/// How often the alarm is evaluated (the back office evaluates it on each view too).
const EVERY: Duration = Duration::from_secs(30);

/// The shop's card attempts and declines over the alarm's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclineRate {
    pub attempts: i64,
    pub declines: i64,
    pub window_seconds: i64,
    pub alarm: bool,
}

impl DeclineRate {
    pub fn percent(&self) -> i64 {
        if self.attempts == 0 {
            0
        } else {
            self.declines * 100 / self.attempts
        }
    }
}

pub async fn current(state: &AppState) -> Result<DeclineRate, StoreError> {
    let alarm = state.operations.alarm;
    let (attempts, declines) = state
        .orders
        .decline_rate(now() - alarm.window_seconds)
        .await?;
    Ok(DeclineRate {
        attempts,
        declines,
        window_seconds: alarm.window_seconds,
        alarm: attempts >= alarm.minimum.max(1) && declines * 100 > alarm.percent * attempts,
    })
}

/// Evaluates the alarm every [`EVERY`] until the server stops: the metrics follow it, and the
/// log says when it goes on and off.
pub fn spawn(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        let mut raised = false;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|stopping| *stopping) => break,
            }
            let rate = match current(&state).await {
                Ok(rate) => rate,
                Err(err) => {
                    tracing::warn!(%err, "decline alarm: cannot read the attempts");
                    continue;
                }
            };
            let share = if rate.attempts == 0 {
                0.0
            } else {
                rate.declines as f64 / rate.attempts as f64
            };
            record::decline_rate(share, rate.alarm);
            if rate.alarm && !raised {
                tracing::error!(
                    attempts = rate.attempts,
                    declines = rate.declines,
                    window_seconds = rate.window_seconds,
                    "DECLINE ALARM: most card attempts are declined; card testing? See the back office"
                );
            } else if !rate.alarm && raised {
                tracing::warn!(
                    attempts = rate.attempts,
                    declines = rate.declines,
                    "decline alarm over"
                );
            }
            raised = rate.alarm;
        }
    });
}
