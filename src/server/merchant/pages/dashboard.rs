//! The dashboard's page: tables first (they are the data), and a chart of the last 24 hours
//! drawn as inline SVG, with the same figures in a table after it. No JavaScript.

use leptos::prelude::*;

use super::*;
use crate::domain::format_amount;
use crate::server::merchant::dashboard::{Dashboard, Hour};
use crate::server::store::attempts::OutcomeTotal;
use crate::server::store::AttemptOutcome;

/// The chart's drawing area, in SVG units.
const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
const LEFT: i64 = 44;
const TOP: i64 = 12;
const BOTTOM: i64 = 192;

pub fn dashboard(d: &Dashboard) -> String {
    let locale = locale();
    let alarm = d.rate.alarm.then(|| {
        view! {
            <p class="alarm" role="alert" data-testid="decline-alarm">
                {td_string!(
                    locale,
                    merchant.dashboard.alarm,
                    percent = d.rate.percent(),
                    declines = d.rate.declines,
                    attempts = d.rate.attempts,
                    minutes = d.rate.window_seconds / 60
                )}
            </p>
        }
    });
    html_page(
        title(td_string!(locale, merchant.dashboard.title).to_string()),
        view! {
            {header()}
            <h1>{td_string!(locale, merchant.dashboard.title)}</h1>
            {alarm}
            <p class="note">{td_string!(locale, merchant.dashboard.in_utc, now = when(d.now, locale))}</p>
            {outcomes(d)}
            {reasons(d)}
            <section aria-labelledby="waiting">
                <h2 id="waiting">{td_string!(locale, merchant.dashboard.waiting)}</h2>
                <dl class="order-facts">
                    <dt>{td_string!(locale, merchant.dashboard.needs_you)}</dt>
                    <dd data-testid="needs-merchant"><a href="/merchant?attention=1">{d.backlog.needs_merchant}</a></dd>
                    <dt>{td_string!(locale, merchant.dashboard.due_now)}</dt>
                    <dd data-testid="due-now">{d.backlog.due}</dd>
                    <dt>{td_string!(locale, merchant.dashboard.oldest_due)}</dt>
                    <dd data-testid="oldest-due">{d.backlog.oldest_due_at.map_or_else(|| "—".to_owned(), |at| when(at, locale))}</dd>
                    <dt>{td_string!(locale, merchant.dashboard.watched)}</dt>
                    <dd data-testid="watched">{d.backlog.watched}</dd>
                </dl>
            </section>
            {per_hour(&d.hours)}
        }
        .into_any(),
    )
}

fn outcome_label(outcome: AttemptOutcome) -> String {
    let locale = locale();
    match outcome {
        AttemptOutcome::Started => td_string!(locale, merchant.dashboard.outcome.started),
        AttemptOutcome::Succeeded => td_string!(locale, merchant.dashboard.outcome.succeeded),
        AttemptOutcome::Authorised => td_string!(locale, merchant.dashboard.outcome.authorised),
        AttemptOutcome::Processing => td_string!(locale, merchant.dashboard.outcome.processing),
        AttemptOutcome::RequiresAction => {
            td_string!(locale, merchant.dashboard.outcome.requires_action)
        }
        AttemptOutcome::Declined => td_string!(locale, merchant.dashboard.outcome.declined),
        AttemptOutcome::AuthenticationFailed => {
            td_string!(locale, merchant.dashboard.outcome.authentication_failed)
        }
        AttemptOutcome::Review => td_string!(locale, merchant.dashboard.outcome.review),
        AttemptOutcome::Failed => td_string!(locale, merchant.dashboard.outcome.failed),
    }
    .to_string()
}

/// Payments by outcome, today and over seven days: how many, and for how much.
fn outcomes(d: &Dashboard) -> AnyView {
    let locale = locale();
    let of = |totals: &[OutcomeTotal], outcome| {
        totals
            .iter()
            .find(|t| t.outcome == outcome)
            .map_or((0, 0), |t| (t.count, t.amount))
    };
    let money = |amount| format_amount(amount, &d.currency, locale);
    let rows = AttemptOutcome::ALL
        .into_iter()
        .filter(|&o| of(&d.week, o).0 > 0)
        .map(|outcome| {
            let (today, today_amount) = of(&d.today, outcome);
            let (week, week_amount) = of(&d.week, outcome);
            view! {
                <tr data-outcome=outcome.as_str()>
                    <th scope="row">{outcome_label(outcome)}</th>
                    <td class="amount" data-testid="today-count">{today}</td>
                    <td class="amount" data-testid="today-amount">{money(today_amount)}</td>
                    <td class="amount" data-testid="week-count">{week}</td>
                    <td class="amount" data-testid="week-amount">{money(week_amount)}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = d
        .week
        .is_empty()
        .then(|| view! { <p>{td_string!(locale, merchant.dashboard.no_attempts)}</p> });
    view! {
        <section aria-labelledby="outcomes">
            <h2 id="outcomes">{td_string!(locale, merchant.dashboard.payments)}</h2>
            <table class="orders" data-testid="outcomes">
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, merchant.dashboard.outcome_col)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.today_count)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.today_amount)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.week_count)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.week_amount)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty}
        </section>
    }
    .into_any()
}

/// Why cards were declined this week (Stripe's codes).
fn reasons(d: &Dashboard) -> AnyView {
    let locale = locale();
    let rows = d
        .reasons
        .iter()
        .map(|(reason, count)| {
            view! {
                <tr data-reason=reason.clone()>
                    <th scope="row"><code>{reason.clone()}</code></th>
                    <td class="amount">{*count}</td>
                </tr>
            }
        })
        .collect_view();
    let body = if d.reasons.is_empty() {
        view! { <p>{td_string!(locale, merchant.dashboard.no_declines)}</p> }.into_any()
    } else {
        view! {
            <table class="orders" data-testid="decline-reasons">
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, merchant.dashboard.reason)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.declines)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="reasons">
            <h2 id="reasons">{td_string!(locale, merchant.dashboard.reasons)}</h2>
            {body}
        </section>
    }
    .into_any()
}

/// `HH:00`, UTC.
fn hour_label(start: i64) -> String {
    format!("{:02}:00", start.rem_euclid(86_400) / 3600)
}

/// Payments per hour: stacked bars (paid, declined, other), then the same as a table.
fn per_hour(hours: &[Hour]) -> AnyView {
    let locale = locale();
    let top = hours.iter().map(Hour::total).max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT) as f64 / hours.len().max(1) as f64;
    let scale = (BOTTOM - TOP) as f64 / top as f64;
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, hour)| {
            let x = LEFT as f64 + i as f64 * slot + 2.0;
            let mut y = BOTTOM as f64;
            let parts = [("paid", hour.paid), ("declined", hour.declined), ("other", hour.other)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(class, n)| {
                    let height = n as f64 * scale;
                    y -= height;
                    view! {
                        <rect class=format!("bar {class}") x=format!("{x:.1}") y=format!("{y:.1}")
                            width=format!("{:.1}", slot - 4.0) height=format!("{height:.1}")/>
                    }
                })
                .collect_view();
            let label = (i % 6 == 0).then(|| {
                view! {
                    <text x=format!("{x:.1}") y=(BOTTOM + 18).to_string() class="axis">{hour_label(hour.start)}</text>
                }
            });
            view! { {parts}{label} }
        })
        .collect_view();
    let rows = hours
        .iter()
        .map(|hour| {
            view! {
                <tr data-hour=hour_label(hour.start)>
                    <th scope="row">{hour_label(hour.start)}</th>
                    <td class="amount" data-testid="hour-paid">{hour.paid}</td>
                    <td class="amount" data-testid="hour-declined">{hour.declined}</td>
                    <td class="amount" data-testid="hour-other">{hour.other}</td>
                </tr>
            }
        })
        .collect_view();
    let chart_label = td_string!(locale, merchant.dashboard.chart_label, top).to_string();
    view! {
        <section aria-labelledby="per-hour">
            <h2 id="per-hour">{td_string!(locale, merchant.dashboard.per_hour)}</h2>
            <figure class="chart">
                <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=chart_label>
                    <line class="axis-line" x1=LEFT.to_string() y1=BOTTOM.to_string() x2=WIDTH.to_string() y2=BOTTOM.to_string()/>
                    <text x="0" y=(TOP + 10).to_string() class="axis">{top}</text>
                    <text x="0" y=BOTTOM.to_string() class="axis">"0"</text>
                    {bars}
                </svg>
                <figcaption>
                    <span class="key paid"></span>{td_string!(locale, merchant.dashboard.paid)}" "
                    <span class="key declined"></span>{td_string!(locale, merchant.dashboard.declined)}" "
                    <span class="key other"></span>{td_string!(locale, merchant.dashboard.other)}
                </figcaption>
            </figure>
            <table class="orders" data-testid="per-hour">
                <caption>{td_string!(locale, merchant.dashboard.per_hour_table)}</caption>
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, merchant.dashboard.hour)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.paid)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.declined)}</th>
                        <th scope="col" class="amount">{td_string!(locale, merchant.dashboard.other)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}
