//! Databases of earlier schemas are migrated without losing orders or their unanswered requests.

use super::*;
use crate::domain::OrderStatus;
use crate::server::store::connection::migrator;
use sqlx::any::AnyPoolOptions;

#[tokio::test]
async fn a_database_of_the_first_schema_is_migrated_without_losing_orders() {
    // SQLite's own history: PostgreSQL starts at today's schema.
    if std::env::var(POSTGRES_VARIABLE).is_ok() {
        return;
    }
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    {
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let first = Migrator {
            migrations: Cow::Owned(vec![migrator(Backend::Sqlite).migrations[0].clone()]),
            ..Migrator::DEFAULT
        };
        first.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO orders (id, reference, status, currency, payment_intent_id, created_at, updated_at) VALUES ('ord_old', 'AAAA-BBBB', 'paid', 'eur', 'pi_old', 1, 1)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO order_lines VALUES ('ord_old', 'espresso', 'Espresso beans', 2, 1450, 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO fulfilments VALUES ('ord_old', 'pi_old', 2900, 1)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = OrderStore::connect(&url).await.unwrap();
    let order = store.get("ord_old").await.unwrap().unwrap();
    assert_eq!(
        (order.status, order.summary().amount),
        (OrderStatus::Paid, 2900)
    );
    assert_eq!(
        (order.amount_captured, order.amount_refunded),
        (2900, 0),
        "a paid order captured what fulfilled it"
    );
    assert_eq!(
        store.fulfilment_count("ord_old").await.unwrap(),
        1,
        "fulfilments are kept"
    );
    assert!(
        leased(&store, "ord_old", async |l| store
            .set_refunded(l, 2900, 900)
            .await
            .unwrap())
        .await,
        "the new columns are there"
    );
    for status in ["needs_review", "canceled", "authorisation_expired"] {
        sqlx::query("UPDATE orders SET status = $1 WHERE id = 'ord_old'")
            .bind(status)
            .execute(&store.pool)
            .await
            .expect("the schema accepts every status");
    }
}

#[tokio::test]
async fn unanswered_requests_of_the_schema_before_become_recorded_requests_due_for_the_reconciler()
{
    let database = test_database().await;
    let backend = Backend::of(&database.url);
    {
        // The schema before the safety net's migration (7), with a create left pending and a
        // confirm left in doubt by the version before it.
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&format!(
                "{}{}",
                database.url,
                if backend == Backend::Sqlite {
                    "?mode=rwc"
                } else {
                    ""
                }
            ))
            .await
            .unwrap();
        let all = migrator(backend);
        let before: Vec<Migration> = all
            .migrations
            .iter()
            .filter(|m| m.version < 7)
            .cloned()
            .collect();
        Migrator {
            migrations: Cow::Owned(before),
            ..Migrator::DEFAULT
        }
        .run(&pool)
        .await
        .unwrap();
        for (id, pending, in_doubt) in [
            ("ord_pending", "2", "0"),
            ("ord_doubt", "NULL", "1"),
            ("ord_quiet", "NULL", "0"),
        ] {
            let intent = if pending == "NULL" {
                format!("'pi_{id}'")
            } else {
                "NULL".to_owned()
            };
            let payment_method = if pending == "NULL" {
                "NULL"
            } else {
                "'pm_card_visa'"
            };
            let amount = if pending == "NULL" { "NULL" } else { "1450" };
            let created = if pending == "NULL" {
                "NULL"
            } else {
                "1700000000"
            };
            sqlx::raw_sql(&format!(
                "INSERT INTO orders (id, reference, status, currency, payment_intent_id, attempt, pending_attempt, pending_payment_method, pending_amount,
                    pending_created_at, in_doubt, customer_id, save_card, created_at, updated_at)
                 VALUES ('{id}', 'R-{id}', 'open', 'eur', {intent}, 2, {pending}, {payment_method}, {amount}, {created}, {in_doubt}, NULL, 0, 1, 1600000000)"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = OrderStore::connect(&database.url).await.unwrap();
    let pending = store.get("ord_pending").await.unwrap().unwrap();
    let expected = SentRequest {
        key: "checkout-ord_pending-attempt-2-create".into(),
        call: StripeCall::Create {
            payment_method: "pm_card_visa".into(),
            amount: 1450,
            customer: None,
            save_card: false,
        },
        sent_at: 1_700_000_000,
    };
    assert_eq!(
        pending.request,
        Some(expected),
        "the pending create, to be replayed byte for byte"
    );
    let doubt = store.get("ord_doubt").await.unwrap().unwrap();
    assert_eq!(
        doubt.request.map(|r| (r.call, r.sent_at)),
        Some((StripeCall::Unknown, 1_600_000_000)),
        "a confirm whose request was not kept"
    );
    assert_eq!(store.get("ord_quiet").await.unwrap().unwrap().request, None);
    let due: Vec<String> = store
        .due(now(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(due.len(), 2, "both are due now: {due:?}");
    assert!(due.contains(&"ord_pending".to_owned()) && due.contains(&"ord_doubt".to_owned()));
}
