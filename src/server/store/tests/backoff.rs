//! The due-queue's backoff: when an order standing still is looked at again (no database).

use std::time::Duration;

use crate::domain::OrderStatus;
use crate::server::store::queue::{Watch, Watched};

const NOW: i64 = 1_800_000_000;

fn watch() -> Watch {
    Watch {
        grace: Duration::from_secs(30),
        authorisation_check: Duration::from_secs(3600),
    }
}

fn watched(status: OrderStatus) -> Watched {
    Watched {
        status,
        since: NOW,
        checks: 0,
        has_request: false,
        has_intent: true,
        review_refund_made: false,
        needs_merchant: false,
    }
}

/// The times an order standing as `w` is looked at, from `since` on, if each look finds
/// it unchanged (at most 50).
fn looks(w: Watched) -> Vec<i64> {
    let mut at = w.since;
    let mut times = Vec::new();
    for checks in 0..50 {
        match watch().next(&Watched { checks, ..w }, at) {
            Some(next) => {
                times.push(next - w.since);
                at = next;
            }
            None => break,
        }
    }
    times
}

#[test]
fn an_abandoned_3d_secure_is_looked_at_a_few_times_the_last_after_stripes_hour() {
    let times = looks(watched(OrderStatus::RequiresAction));
    assert_eq!(
        times,
        vec![30, 150, 630, 2550, 6150, 7200],
        "a few looks, not one a minute for two hours"
    );
    assert!(
        times.iter().any(|t| *t > 3600),
        "one after Stripe fails it back"
    );
    assert_eq!(
        looks(watched(OrderStatus::Failed)).len(),
        6,
        "a declined payment likewise"
    );
}

#[test]
fn a_processing_payment_is_looked_at_until_it_ends_at_most_an_hour_apart() {
    let times = looks(watched(OrderStatus::Processing));
    assert_eq!(times.len(), 50, "never given up");
    assert_eq!(
        &times[..5],
        &[5, 25, 105, 425, 1705],
        "the bank usually answers within seconds"
    );
    assert!(times.windows(2).all(|w| w[1] - w[0] <= 3600));
}

#[test]
fn a_request_without_its_answer_is_replayed_at_most_fifteen_minutes_apart_for_ever() {
    let times = looks(Watched {
        has_request: true,
        ..watched(OrderStatus::Open)
    });
    assert_eq!(times.len(), 50);
    assert!(times.windows(2).all(|w| w[1] - w[0] <= 900));
}

#[test]
fn settled_orders_and_orders_for_the_merchant_are_never_looked_at() {
    for status in [
        OrderStatus::Paid,
        OrderStatus::Open,
        OrderStatus::Canceled,
        OrderStatus::AuthorisationExpired,
    ] {
        assert_eq!(watch().next(&watched(status), NOW), None, "{status:?}");
    }
    assert_eq!(
        watch().next(
            &Watched {
                review_refund_made: true,
                ..watched(OrderStatus::NeedsReview)
            },
            NOW
        ),
        None
    );
    assert_eq!(
        watch().next(
            &Watched {
                needs_merchant: true,
                ..watched(OrderStatus::NeedsReview)
            },
            NOW
        ),
        None
    );
    assert_eq!(
        watch().next(
            &Watched {
                has_intent: false,
                ..watched(OrderStatus::Failed)
            },
            NOW
        ),
        None,
        "a decline before any intent"
    );
    assert_eq!(
        watch().next(&watched(OrderStatus::NeedsReview), NOW),
        Some(NOW + 30),
        "a refund to make"
    );
    assert_eq!(
        watch().next(
            &Watched {
                checks: 7,
                ..watched(OrderStatus::Authorised)
            },
            NOW
        ),
        Some(NOW + 3600),
        "an authorisation: every check interval"
    );
}
