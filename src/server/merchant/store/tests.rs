//! What the back office stores: repeat orders, one-time action keys, the order list.

use super::{ActionKind, ActionState, OrderFilter};
use crate::domain::catalogue::sample;
use crate::domain::{OrderLine, OrderStatus, PaymentEvent};
use crate::server::store::tests::*;
use crate::server::store::*;

#[tokio::test]
async fn a_repeat_order_copies_every_line_of_its_source_in_its_order() {
    let (store, _dir) = store().await;
    let source = new_order_id();
    store.open_order(&source, &sample()).await.unwrap();
    // Filter first, then espresso: not the order of their ids.
    let removed = OrderLine {
        quantity: 0,
        ..OrderLine::priced(&sample(), "espresso", 1).unwrap()
    };
    assert!(store.set_line(&source, &removed, 0).await.unwrap());
    for (position, (product, quantity)) in [(1, ("filter", 2)), (2, ("espresso", 3))] {
        assert!(store
            .set_line(
                &source,
                &OrderLine::priced(&sample(), product, quantity).unwrap(),
                position
            )
            .await
            .unwrap());
    }
    let source = store.get(&source).await.unwrap().unwrap();
    let lines: Vec<(&str, i64)> = source
        .lines
        .iter()
        .map(|l| (l.product_id.as_str(), l.quantity))
        .collect();
    assert_eq!(lines, [("filter", 2), ("espresso", 3)]);
    let repeat = new_order_id();
    store
        .open_repeat_order(&repeat, &source, "pm_card_visa")
        .await
        .unwrap();
    assert_eq!(store.repeat_count(&source.id).await.unwrap(), 1);
    let repeat = store.get(&repeat).await.unwrap().unwrap();
    assert_eq!(
        repeat.lines, source.lines,
        "the same lines, quantities, prices and order"
    );
    assert_eq!(repeat.summary().amount, source.summary().amount);
}

#[tokio::test]
async fn an_action_key_does_its_action_once() {
    let (store, _dir) = store().await;
    let order = order_with_intent(&store, "pi_a").await;
    let key = random_key();
    assert_eq!(
        store
            .begin_action(&key, &order.id, ActionKind::Refund, Some(500))
            .await
            .unwrap(),
        Some(ActionState::Running)
    );
    assert_eq!(
        store
            .begin_action(&key, &order.id, ActionKind::Refund, Some(500))
            .await
            .unwrap(),
        Some(ActionState::Running),
        "not finished: may run again"
    );
    store
        .finish_action(&key, &ActionState::Done("Refunded €5.00.".into()))
        .await
        .unwrap();
    store
        .finish_action(&key, &ActionState::Refused("late".into()))
        .await
        .unwrap();
    assert_eq!(
        store
            .begin_action(&key, &order.id, ActionKind::Refund, Some(500))
            .await
            .unwrap(),
        Some(ActionState::Done("Refunded €5.00.".into()))
    );
    assert_eq!(
        store
            .begin_action(&key, &order.id, ActionKind::Refund, Some(900))
            .await
            .unwrap(),
        None,
        "a key is for one action"
    );
    assert_eq!(
        store
            .begin_action(&key, &order.id, ActionKind::Capture, Some(500))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_back_office_lists_orders_newest_first_by_page_status_and_need_of_the_merchant() {
    let (store, _dir) = store().await;
    let mut ids = vec![];
    for n in 0..5 {
        let id = order_with_intent(&store, &format!("pi_list{n}")).await.id;
        sqlx::query("UPDATE orders SET created_at = $1 WHERE id = $2")
            .bind(1_000 + n)
            .bind(&id)
            .execute(&store.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    record(&store, &ids[1], PaymentEvent::Declined).await;
    record(&store, &ids[3], PaymentEvent::Declined).await;
    let first = store.list_orders(OrderFilter::All, 0, 2).await.unwrap();
    assert_eq!(
        first
            .orders
            .iter()
            .map(|o| o.id.clone())
            .collect::<Vec<_>>(),
        vec![ids[4].clone(), ids[3].clone()]
    );
    assert!(first.has_more);
    let last = store.list_orders(OrderFilter::All, 2, 2).await.unwrap();
    assert_eq!(
        last.orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );
    assert!(!last.has_more);
    assert_eq!(last.orders[0].lines.len(), 1, "with their lines");
    let failed = store
        .list_orders(OrderFilter::Status(OrderStatus::Failed), 0, 10)
        .await
        .unwrap();
    assert_eq!(
        failed
            .orders
            .iter()
            .map(|o| o.id.clone())
            .collect::<Vec<_>>(),
        vec![ids[3].clone(), ids[1].clone()]
    );
    leased(&store, &ids[2], async |l| {
        store
            .needs_merchant(l, "Stripe refused the refund")
            .await
            .unwrap()
    })
    .await;
    let attention = store
        .list_orders(OrderFilter::NeedsMerchant, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        attention
            .orders
            .iter()
            .map(|o| (o.id.clone(), o.attention.clone()))
            .collect::<Vec<_>>(),
        vec![(ids[2].clone(), Some("Stripe refused the refund".into()))]
    );
}
