//! Saved cards belong to the browser that saved them.

use super::*;

#[tokio::test]
async fn saved_cards_belong_to_the_browser_that_saved_them() {
    let (store, _dir) = store().await;
    store.add_shopper("shp_a", "a@example.com").await.unwrap();
    store.add_shopper("shp_b", "a@example.com").await.unwrap();
    assert_eq!(
        store
            .set_customer("shp_a", "cus_1")
            .await
            .unwrap()
            .as_deref(),
        Some("cus_1")
    );
    assert_eq!(
        store
            .set_customer("shp_a", "cus_2")
            .await
            .unwrap()
            .as_deref(),
        Some("cus_1"),
        "one Customer per browser"
    );
    let card = crate::domain::SavedCard {
        payment_method_id: "pm_1".into(),
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: 12,
        exp_year: 2034,
    };
    store.remember_card("shp_a", &card).await.unwrap();
    store.remember_card("shp_b", &card).await.unwrap();
    assert_eq!(
        store.saved_cards("shp_a").await.unwrap(),
        vec![card.clone()]
    );
    assert!(
        store.saved_cards("shp_b").await.unwrap().is_empty(),
        "the same e-mail opens nothing"
    );
    assert_eq!(store.saved_card_of("shp_b", "pm_1").await.unwrap(), None);
    assert!(!store.forget_card("shp_b", "pm_1").await.unwrap());
    assert_eq!(
        store.shopper_of_customer("cus_1").await.unwrap().as_deref(),
        Some("shp_a")
    );
    assert!(store.forget_card("shp_a", "pm_1").await.unwrap());
    assert!(store.saved_cards("shp_a").await.unwrap().is_empty());
}
