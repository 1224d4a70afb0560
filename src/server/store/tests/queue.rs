//! The reconciler's due-queue: no set of orders holds its head, and a pass reads what is due.

use sqlx::Row;

use super::*;
use crate::domain::PaymentEvent;
use crate::server::store::sql::Sql;

#[tokio::test]
async fn every_watched_order_is_due_and_each_look_pushes_it_back_so_none_holds_the_head() {
    let (store, _dir) = store().await;
    // 300 abandoned 3-D Secure orders that went due first, then one processing payment.
    let mut abandoned = vec![];
    for n in 0..300 {
        let order = order_with_intent(&store, &format!("pi_3ds{n}")).await;
        record(&store, &order.id, PaymentEvent::NeedsAuthentication).await;
        abandoned.push(order.id);
    }
    let processing = order_with_intent(&store, "pi_processing").await;
    record(&store, &processing.id, PaymentEvent::Processing).await;
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id <> ?")
        .bind(now() - 100)
        .bind(&processing.id)
        .execute(&store.pool)
        .await
        .unwrap();
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id = ?")
        .bind(now() - 1)
        .bind(&processing.id)
        .execute(&store.pool)
        .await
        .unwrap();

    let first = one_pass(&store, now()).await;
    assert_eq!(first.len(), 301, "one pass takes every due order once");
    assert_eq!(first.last(), Some(&processing.id), "earliest due first");
    let second = one_pass(&store, now()).await;
    assert!(
        second.is_empty(),
        "each was pushed back as it was taken: {} due again at once",
        second.len()
    );
    let pushed = store.get(&abandoned[0]).await.unwrap().unwrap();
    assert_eq!(pushed.checks, 1);
    assert!(pushed.next_check_at.unwrap() > now(), "by its backoff");
    // Held by another holder: not taken, and still due for the next pass.
    let held = store
        .take_lease(&processing.id, LEASE)
        .await
        .unwrap()
        .unwrap();
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id = ?")
        .bind(now() - 1)
        .bind(&processing.id)
        .execute(&store.pool)
        .await
        .unwrap();
    assert!(one_pass(&store, now()).await.is_empty());
    store.release(&held).await.unwrap();
    assert_eq!(one_pass(&store, now()).await, vec![processing.id.clone()]);
}

#[tokio::test]
async fn an_order_that_needs_the_merchant_leaves_the_queue_until_they_ask_for_a_new_look() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_review").await;
    record(&store, &order.id, PaymentEvent::Mismatched).await;
    Sql::new("UPDATE orders SET next_check_at = ? WHERE id = ?")
        .bind(now() - 1)
        .bind(&order.id)
        .execute(&store.pool)
        .await
        .unwrap();
    assert_eq!(
        one_pass(&store, now()).await,
        vec![order.id.clone()],
        "a refund to make is due"
    );
    leased(&store, &order.id, async |l| {
        store
            .needs_merchant(l, "Stripe refused the refund: already refunded")
            .await
            .unwrap()
    })
    .await;
    let waiting = store.get(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (waiting.next_check_at, waiting.attention.as_deref()),
        (None, Some("Stripe refused the refund: already refunded"))
    );
    assert!(
        one_pass(&store, now() + 365 * 86_400).await.is_empty(),
        "never retried by itself"
    );
    assert!(
        !record(&store, &order.id, PaymentEvent::Mismatched).await
            || store
                .get(&order.id)
                .await
                .unwrap()
                .unwrap()
                .next_check_at
                .is_none(),
        "a later write does not put it back"
    );
    assert!(store.recheck(&order.id).await.unwrap());
    assert!(!store.recheck(&order.id).await.unwrap(), "once");
    assert_eq!(
        one_pass(&store, now()).await,
        vec![order.id.clone()],
        "due again at once"
    );
}

#[tokio::test]
async fn a_pass_over_100000_orders_of_which_10_are_due_reads_the_10() {
    let (store, _dir) = store().await;
    let t = now();
    // 99,990 settled orders and 10 due ones, written in one statement each.
    let rows = |from: i64, count: i64, next: &str| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {})
             INSERT INTO orders (id, reference, status, currency, created_at, updated_at, next_check_at)
             SELECT 'ord_bulk' || i, 'REF-' || i, 'paid', 'eur', {t}, {t}, {next} FROM n",
            from + count - 1
        )
    };
    sqlx::raw_sql(&rows(1, 99_990, "NULL"))
        .execute(&store.pool)
        .await
        .unwrap();
    sqlx::raw_sql(&rows(99_991, 10, &(t - 5).to_string()))
        .execute(&store.pool)
        .await
        .unwrap();
    if store.backend() == Backend::Postgres {
        sqlx::raw_sql("ANALYZE orders")
            .execute(&store.pool)
            .await
            .unwrap();
    }
    let due = store.due(t, 100).await.unwrap();
    let mut ids: Vec<String> = due.iter().map(|d| d.id.clone()).collect();
    ids.sort();
    let mut expected: Vec<String> = (99_991..=100_000).map(|i| format!("ord_bulk{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected, "the 10 due, and only them");

    // How the database reads them: through the due index, never a scan of the table.
    let (explain, column) = match store.backend() {
        Backend::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        Backend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
    };
    let rows = Sql::new(explain)
        .join(crate::server::store::queue::due_query(t, 100))
        .fetch_all(&store.pool)
        .await
        .unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(column)).collect();
    let plan = plan.join("\n");
    assert!(plan.contains("orders_due"), "the due index: {plan}");
    assert!(
        !plan.contains("SCAN orders\n")
            && !plan.ends_with("SCAN orders")
            && !plan.contains("Seq Scan"),
        "no scan of the table: {plan}"
    );
}
