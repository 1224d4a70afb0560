//! What an app that embeds the emulator relies on across its own restarts, and what keeps
//! the test controls out of reach of other web sites.

use stripe_core::payment_intent::{ListPaymentIntent, RetrievePaymentIntent};
use stripe_emulator::Config;
use stripe_shared::PaymentIntentStatus;
use stripe_types::{RangeBoundsTs, RangeQueryTs};

use super::harness::{raw, Harness};

fn state_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("emulator-state-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("account.json");
    let _ = std::fs::remove_file(&path);
    path
}

async fn start_on(path: &std::path::Path, addr: &str) -> Harness {
    Harness::start_with(Config {
        addr: addr.parse().unwrap(),
        state_file: Some(path.to_owned()),
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn a_restarted_emulator_finishes_the_3ds_payment_it_started() {
    let path = state_file("3ds");
    let h = start_on(&path, "127.0.0.1:0").await;
    let pm = h.card("4000000000003220").await;
    let pi = h.pay(&pm.id, 1450).await.unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    let addr = h.running.addr().to_string();
    h.running.shutdown().await;

    let h = start_on(&path, &addr).await;
    assert_eq!(
        h.authenticate(&pi, "complete").await.status,
        200,
        "the challenge finds the intent after a restart"
    );
    let done = h.reconfirm(&pi.id).await.unwrap();
    assert_eq!(
        (done.status, done.amount),
        (PaymentIntentStatus::Succeeded, 1450)
    );
    assert_eq!(h.intents().await.len(), 1);
}

#[tokio::test]
async fn a_kept_idempotent_result_is_replayed_after_a_restart_instead_of_executing_again() {
    let path = state_file("idempotency");
    let h = start_on(&path, "127.0.0.1:0").await;
    let body = "amount=1450&currency=eur&payment_method=pm_card_visa&confirm=true";
    let headers = [("Idempotency-Key", "order-1-create")];
    let auth = format!("Bearer {}", super::harness::SECRET);
    let mut all = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    all.extend_from_slice(&headers);
    let first = raw(h.base(), "POST", "/v1/payment_intents", &all, body)
        .await
        .unwrap();
    let addr = h.running.addr().to_string();
    h.running.shutdown().await;

    let h = start_on(&path, &addr).await;
    let again = raw(h.base(), "POST", "/v1/payment_intents", &all, body)
        .await
        .unwrap();
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(h.intents().await.len(), 1);
}

#[tokio::test]
async fn a_request_saves_what_it_changed_not_the_whole_account() {
    let path = state_file("journal");
    let journal = stripe_emulator::persist::journal_path(&path);
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let h = start_on(&path, "127.0.0.1:0").await;
    // What one payment adds to the journal, with 5 payments in the account, then with 60.
    let mut added = Vec::new();
    for before in [5, 55] {
        for _ in 0..before {
            h.pay("pm_card_visa", 1450).await.unwrap();
        }
        let (journal_before, snapshot_before) = (size(&journal), size(&path));
        h.pay("pm_card_visa", 1450).await.unwrap();
        assert_eq!(
            size(&path),
            snapshot_before,
            "the snapshot is not rewritten"
        );
        added.push(size(&journal) - journal_before);
    }
    assert!(
        added[1] < added[0] * 3 / 2,
        "a payment's save does not grow with the account: {added:?}"
    );
    let addr = h.running.addr().to_string();
    h.running.shutdown().await;

    let h = start_on(&path, &addr).await;
    let intents = h.intents().await;
    assert_eq!(intents.len(), 62, "every payment is read back");
    assert!(intents.iter().all(|pi| pi["status"] == "succeeded"));
}

#[tokio::test]
async fn a_journal_longer_than_its_snapshot_is_folded_into_a_new_one() {
    let path = state_file("fold");
    let journal = stripe_emulator::persist::journal_path(&path);
    let h = start_on(&path, "127.0.0.1:0").await;
    // Past 1 MiB of journal (about 1.9 KB a payment), longer than the snapshot.
    let mut folded = false;
    for _ in 0..1000 {
        h.pay("pm_card_visa", 1450).await.unwrap();
        if !journal.exists() {
            folded = true;
            break;
        }
    }
    assert!(folded, "the journal was folded into the snapshot");
    h.pay("pm_card_visa", 1450).await.unwrap();
    let paid = h.intents().await.len();
    let addr = h.running.addr().to_string();
    h.running.shutdown().await;
    let h = start_on(&path, &addr).await;
    assert_eq!(
        h.intents().await.len(),
        paid,
        "the snapshot and the journal after it are read back"
    );
}

#[tokio::test]
async fn a_processing_payment_settles_when_the_clock_passes_its_time() {
    let h = Harness::start().await;
    let pi = h.pay("pm_card_emulatorProcessing", 1450).await.unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Processing);
    let still = RetrievePaymentIntent::new(pi.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(still.status, PaymentIntentStatus::Processing);
    h.control("POST", "/_emulator/clock/advance", r#"{"seconds": 61}"#)
        .await;
    let settled = RetrievePaymentIntent::new(pi.id.clone())
        .send(&h.client)
        .await
        .unwrap();
    assert_eq!(
        (settled.status, settled.amount_received),
        (PaymentIntentStatus::Succeeded, 1450)
    );
}

#[tokio::test]
async fn intents_are_listed_by_creation_time() {
    let h = Harness::start().await;
    let early = h.pay("pm_card_visa", 1000).await.unwrap();
    h.control("POST", "/_emulator/clock/advance", r#"{"seconds": 7200}"#)
        .await;
    let late = h.pay("pm_card_visa", 2000).await.unwrap();
    let since = |gte: i64| {
        ListPaymentIntent::new().created(RangeQueryTs::Bounds(RangeBoundsTs {
            gte: Some(gte),
            ..Default::default()
        }))
    };
    let listed = since(late.created).send(&h.client).await.unwrap();
    assert_eq!(
        listed
            .data
            .iter()
            .map(|pi| pi.id.as_str())
            .collect::<Vec<_>>(),
        vec![late.id.as_str()]
    );
    let all = since(early.created).send(&h.client).await.unwrap();
    assert_eq!(all.data.len(), 2);
}

#[tokio::test]
async fn controls_refuse_what_a_cross_site_page_can_send_without_a_preflight() {
    let h = Harness::start().await;
    h.pay("pm_card_visa", 1450).await.unwrap();
    // A form or no-cors fetch from another site: text/plain, no preflight.
    let plain = raw(
        h.base(),
        "POST",
        "/_emulator/reset",
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "https://evil.example"),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(plain.status, 415, "{}", plain.body);
    let form = raw(
        h.base(),
        "POST",
        "/_emulator/clock/advance",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "seconds=99999",
    )
    .await
    .unwrap();
    assert_eq!(form.status, 415);
    // DNS rebinding: a foreign name pointed at 127.0.0.1.
    let rebound = raw(
        h.base(),
        "POST",
        "/_emulator/reset",
        &[
            ("Host", "evil.example:12111"),
            ("Content-Type", "application/json"),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(rebound.status, 403);
    assert_eq!(h.intents().await.len(), 1, "nothing was reset");
    let clock = h.control("GET", "/_emulator/clock", "").await.json()["now"]
        .as_i64()
        .unwrap();
    assert!(clock - now() < 100, "the clock did not move");
    assert_eq!(
        h.control("POST", "/_emulator/reset", "").await.status,
        204,
        "a local JSON request still works"
    );
    assert_eq!(h.intents().await.len(), 0);
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
