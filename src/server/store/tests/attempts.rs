//! Card attempts: each limit refuses the attempt past it, says when to come back, and holds
//! for concurrent attempts; the dashboard's sums count each attempt once.

use super::*;
use crate::domain::catalogue::sample;

const NOW: i64 = 1_800_000_000;

fn limits() -> AttemptLimits {
    AttemptLimits {
        order_declines: 5,
        order_cooling_seconds: 1800,
        address_attempts_per_minute: 10,
        address_declines_per_hour: 10,
    }
}

async fn admit(
    store: &OrderStore,
    order: &str,
    client: Option<&str>,
    limits: &AttemptLimits,
    at: i64,
) -> Admission {
    store
        .admit_attempt(order, client, AttemptPath::NewCard, limits, at)
        .await
        .unwrap()
}

async fn declined(store: &OrderStore, admission: Admission, at: i64) {
    let Admission::Admitted(id) = admission else {
        panic!("refused: {admission:?}")
    };
    assert!(store
        .end_attempt(&id, AttemptOutcome::Declined, Some("card_declined"), at)
        .await
        .unwrap());
}

#[tokio::test]
async fn an_order_declined_five_times_takes_no_sixth_card_until_its_cooling_ends() {
    let (store, _db) = store().await;
    let order = new_order_id();
    for i in 0..5 {
        let at = NOW + i * 60;
        declined(&store, admit(&store, &order, None, &limits(), at).await, at).await;
    }
    let sixth = admit(&store, &order, None, &limits(), NOW + 300).await;
    assert_eq!(
        sixth,
        Admission::Refused {
            limit: Limit::OrderDeclines,
            // The first decline leaves the 30 minutes' window at NOW + 1800.
            retry_after: 1800 - 300 + 1,
        }
    );
    // Confirming after 3-D Secure is not a new card: never refused.
    store
        .record_attempt(&order, AttemptPath::Reconfirm, NOW + 300)
        .await
        .unwrap();
    assert!(matches!(
        admit(&store, &new_order_id(), None, &limits(), NOW + 300).await,
        Admission::Admitted(_)
    ));
    assert!(
        matches!(
            admit(&store, &order, None, &limits(), NOW + 1801).await,
            Admission::Admitted(_)
        ),
        "after the cooling period"
    );
}

#[tokio::test]
async fn one_address_makes_ten_card_attempts_a_minute_and_another_address_pays_meanwhile() {
    let (store, _db) = store().await;
    for i in 0..10 {
        let admission = admit(
            &store,
            &new_order_id(),
            Some("203.0.113.7"),
            &limits(),
            NOW + i,
        )
        .await;
        assert!(matches!(admission, Admission::Admitted(_)), "attempt {i}");
    }
    assert_eq!(
        admit(
            &store,
            &new_order_id(),
            Some("203.0.113.7"),
            &limits(),
            NOW + 20
        )
        .await,
        Admission::Refused {
            limit: Limit::AddressAttempts,
            retry_after: 41,
        }
    );
    assert!(matches!(
        admit(
            &store,
            &new_order_id(),
            Some("198.51.100.1"),
            &limits(),
            NOW + 20
        )
        .await,
        Admission::Admitted(_)
    ));
    assert!(matches!(
        admit(
            &store,
            &new_order_id(),
            Some("203.0.113.7"),
            &limits(),
            NOW + 61
        )
        .await,
        Admission::Admitted(_)
    ));
}

#[tokio::test]
async fn one_address_has_ten_declines_an_hour_and_a_typo_is_far_from_every_limit() {
    let (store, _db) = store().await;
    let slow = AttemptLimits {
        address_attempts_per_minute: 0,
        ..limits()
    };
    let typo = admit(&store, &new_order_id(), Some("192.0.2.1"), &slow, NOW).await;
    declined(&store, typo, NOW).await;
    for i in 0..9 {
        let at = NOW + 100 + i * 120;
        declined(
            &store,
            admit(&store, &new_order_id(), Some("192.0.2.1"), &slow, at).await,
            at,
        )
        .await;
    }
    assert_eq!(
        admit(
            &store,
            &new_order_id(),
            Some("192.0.2.1"),
            &slow,
            NOW + 2000
        )
        .await,
        Admission::Refused {
            limit: Limit::AddressDeclines,
            retry_after: 3600 - 2000 + 1,
        }
    );
}

#[tokio::test]
async fn concurrent_attempts_from_one_address_cannot_all_slip_under_its_limit() {
    let (store, _db) = store().await;
    let attempts = (0..30).map(|_| {
        let store = store.clone();
        async move {
            store
                .admit_attempt(
                    &new_order_id(),
                    Some("203.0.113.99"),
                    AttemptPath::NewCard,
                    &limits(),
                    NOW,
                )
                .await
                .unwrap()
        }
    });
    let admissions = futures_join_all(attempts).await;
    let admitted = admissions
        .iter()
        .filter(|a| matches!(a, Admission::Admitted(_)))
        .count();
    assert_eq!(admitted, 10, "{admissions:?}");
}

/// Runs the futures at once, each on its own task.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_dashboard_counts_each_attempt_once_by_outcome_reason_and_hour_with_its_order_s_total()
{
    let (store, _db) = store().await;
    let paid = new_order_id();
    store.open_order(&paid, &sample()).await.unwrap();
    let Admission::Admitted(id) = admit(&store, &paid, None, &limits(), NOW).await else {
        panic!()
    };
    store
        .end_attempt(&id, AttemptOutcome::Succeeded, None, NOW + 1)
        .await
        .unwrap();
    assert!(
        !store
            .end_attempt(
                &id,
                AttemptOutcome::Declined,
                Some("card_declined"),
                NOW + 2
            )
            .await
            .unwrap(),
        "an attempt ends once"
    );
    let refused = new_order_id();
    store.open_order(&refused, &sample()).await.unwrap();
    for (i, reason) in ["insufficient_funds", "card_declined", "insufficient_funds"]
        .into_iter()
        .enumerate()
    {
        let at = NOW + 3600 + i as i64;
        let Admission::Admitted(id) = admit(&store, &refused, None, &limits(), at).await else {
            panic!()
        };
        store
            .end_attempt(&id, AttemptOutcome::Declined, Some(reason), at)
            .await
            .unwrap();
    }
    let totals = store.outcome_totals(NOW).await.unwrap();
    // The default cart: one of the first product.
    let total = 1450;
    assert_eq!(
        totals
            .iter()
            .map(|t| (t.outcome, t.count, t.amount))
            .collect::<Vec<_>>(),
        vec![
            (AttemptOutcome::Succeeded, 1, total),
            (AttemptOutcome::Declined, 3, 3 * total)
        ]
    );
    assert_eq!(
        store.decline_reasons(NOW).await.unwrap(),
        vec![
            ("insufficient_funds".to_owned(), 2),
            ("card_declined".to_owned(), 1)
        ]
    );
    let hours = store.attempts_by_hour(NOW - 3600).await.unwrap();
    assert_eq!(
        hours,
        vec![
            (NOW / 3600, AttemptOutcome::Succeeded, 1),
            (NOW / 3600 + 1, AttemptOutcome::Declined, 3)
        ]
    );
    assert_eq!(store.decline_rate(NOW).await.unwrap(), (4, 3));
    assert_eq!(store.decline_rate(NOW + 3600).await.unwrap(), (3, 3));
    assert_eq!(store.forget_attempts(NOW + 3600).await.unwrap(), 1);
    assert_eq!(store.decline_rate(NOW).await.unwrap(), (3, 3));
}
