//! The order store's part of one first payment, step by step, without HTTP or Stripe: what the
//! database costs the server's share of `POST /pay`. Run by `scripts/bench.sh`:
//! `cargo run --release --no-default-features --features ssr,embedded-emulator --example store_pay`
//! (STORE_PAY_ROUNDS, default 2000).
//!
//! The steps are those `pay` makes for a new order answered `succeeded` at once: store the
//! order already leased, with the create it sends recorded (it is not read back: it is
//! known), then (after Stripe) bind the intent and fulfil in one statement, which also gives
//! the lease back (so the last step sends nothing). A fresh SQLite file, checkpointed as the
//! server does.

use std::time::{Duration, Instant};

use checkout::domain::PaymentEvent;
use checkout::server::store::{
    new_order_id, now, CardShown, Order, OrderStore, Payment, SentRequest, StripeCall,
};

const STEPS: [&str; 3] = [
    "store order, leased, with its create",
    "bind intent and fulfil",
    "give lease back",
];
const WARM_UP: usize = 200;

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("STORE_PAY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("store-pay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let store = OrderStore::connect(&format!("sqlite://{}/orders.db", dir.display()))
        .await
        .expect("the store opens");
    let _checkpoints = store.spawn_checkpoints(Duration::from_millis(200));
    let catalogue = checkout::server::config::Settings::load(&|k| std::env::var(k).ok())
        .expect("the shop's settings")
        .catalogue();

    let mut steps: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); STEPS.len()];
    let mut totals = Vec::with_capacity(rounds);
    for round in 0..rounds + WARM_UP {
        let id = new_order_id();
        let mut laps = Vec::with_capacity(STEPS.len());
        let started = Instant::now();
        let lap = |laps: &mut Vec<f64>| {
            laps.push(started.elapsed().as_secs_f64() * 1000.0 - laps.iter().sum::<f64>())
        };

        let first_create = |order: &Order| {
            let amount = order.lines.iter().map(|l| l.quantity * l.unit_amount).sum();
            let call = StripeCall::Create {
                payment_method: "pm_card_visa".into(),
                amount,
                customer: None,
                save_card: false,
            };
            Some(SentRequest {
                key: format!("checkout-{}-attempt-1-create", order.id),
                call,
                sent_at: now(),
            })
        };
        let (lease, stored_now) = store
            .open_leased(&id, &catalogue, Duration::from_secs(60), first_create)
            .await
            .expect("stored")
            .expect("free");
        let order = stored_now.expect("a new order, as stored");
        let request = order.request.as_ref().expect("its create recorded");
        let StripeCall::Create { amount, .. } = request.call else {
            unreachable!("a create")
        };
        lap(&mut laps);
        let intent = format!("pi_bench{round}");
        let card = CardShown {
            brand: Some("visa".into()),
            last4: Some("4242".into()),
        };
        let payment = Payment {
            payment_intent_id: &intent,
            event: PaymentEvent::Succeeded,
            amount,
            currency: &order.currency,
        };
        let fulfilled = store
            .bind_and_fulfil(&lease, &request.key, payment, card)
            .await
            .expect("fulfilled");
        assert!(fulfilled, "bound and fulfilled");
        lap(&mut laps);
        store.release(&lease).await.expect("released");
        lap(&mut laps);

        if round >= WARM_UP {
            totals.push(started.elapsed().as_secs_f64() * 1000.0);
            for (step, ms) in steps.iter_mut().zip(laps) {
                step.push(ms);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!("| step | p50 (ms) | p99 (ms) |\n|---|---|---|");
    for (name, samples) in STEPS.iter().zip(steps.iter_mut()) {
        println!(
            "| {name} | {:.3} | {:.3} |",
            percentile(samples, 50),
            percentile(samples, 99)
        );
    }
    println!(
        "| **all** | **{:.3}** | **{:.3}** |",
        percentile(&mut totals, 50),
        percentile(&mut totals, 99)
    );
}

fn percentile(samples: &mut [f64], p: usize) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}
