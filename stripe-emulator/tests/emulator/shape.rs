//! The JSON carries every top-level field of Stripe's fixture for its resource, and nothing
//! outside it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::harness::Harness;

fn fixture(resource: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fixtures3.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: Value = serde_json::from_str(&text).unwrap();
    all["resources"][resource]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn check(resource: &str, object: &Value) {
    let expected = fixture(resource);
    let actual: BTreeSet<String> = object.as_object().unwrap().keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    assert!(
        missing.is_empty(),
        "{resource} lacks fixture fields {missing:?}"
    );
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        extra.is_empty(),
        "{resource} has fields outside the fixture: {extra:?}"
    );
    assert_eq!(object["object"], resource);
}

#[tokio::test]
async fn objects_have_the_fixture_fields_and_nothing_stripe_leaves_out() {
    let h = Harness::start().await;
    let customer = h
        .api("POST", "/v1/customers", "email=a%40example.com&name=Ada")
        .await
        .json();
    check("customer", &customer);
    let pm = h.api("POST", "/v1/payment_methods", "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123").await.json();
    check("payment_method", &pm);
    assert!(
        pm.get("sepa_debit").is_none(),
        "no sub-objects of other payment-method types"
    );
    let pi = h
        .api(
            "POST",
            "/v1/payment_intents",
            &format!(
                "amount=1200&currency=eur&confirm=true&payment_method={}",
                pm["id"].as_str().unwrap()
            ),
        )
        .await
        .json();
    check("payment_intent", &pi);
    let charge = h
        .api(
            "GET",
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            "",
        )
        .await
        .json();
    check("charge", &charge);
    assert_eq!(
        charge["payment_method_details"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["card", "type"]
    );
    let refund = h
        .api(
            "POST",
            "/v1/refunds",
            &format!("payment_intent={}", pi["id"].as_str().unwrap()),
        )
        .await
        .json();
    check("refund", &refund);
    assert!(
        customer.get("sources").is_none() && customer.get("subscriptions").is_none(),
        "no unexpanded lists"
    );
}

#[tokio::test]
async fn a_requires_action_intent_has_only_the_sdk_action() {
    let h = Harness::start().await;
    let pi = h.api("POST", "/v1/payment_intents", "amount=1200&currency=eur&confirm=true&confirmation_method=manual&payment_method=pm_card_threeDSecure2Required").await.json();
    check("payment_intent", &pi);
    let keys: Vec<_> = pi["next_action"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, vec!["type", "use_stripe_sdk"]);
}
