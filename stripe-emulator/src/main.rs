//! `stripe-emulator [--addr 127.0.0.1:12111] [--state-file PATH] [--secret-key sk_test_… --publishable-key pk_test_…]`

use std::process::ExitCode;

use stripe_emulator::{Config, KeyPolicy};

const USAGE: &str = "usage: stripe-emulator [--addr HOST:PORT] [--state-file PATH] [--secret-key sk_test_… --publishable-key pk_test_…]\n\
  --addr             address to listen on (default 127.0.0.1:12111; port 0 picks a free one)\n\
  --state-file       keep the account in this JSON file across restarts (default: memory only)\n\
  --secret-key       accept only this secret key (with --publishable-key); default: any test key";

fn parse(args: Vec<String>) -> Result<Config, String> {
    let mut config = Config::default();
    let (mut secret, mut publishable) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                config.addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--state-file" => config.state_file = Some(value("--state-file")?.into()),
            "--secret-key" => secret = Some(value("--secret-key")?),
            "--publishable-key" => publishable = Some(value("--publishable-key")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    config.keys = match (secret, publishable) {
        (None, None) => KeyPolicy::default(),
        (Some(s), Some(p)) if s.starts_with("sk_test_") && p.starts_with("pk_test_") => KeyPolicy {
            pinned: Some((s, p)),
        },
        (Some(_), Some(_)) => {
            return Err("the pinned keys must be test keys: sk_test_… and pk_test_…".into())
        }
        _ => return Err("--secret-key and --publishable-key go together".into()),
    };
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1).collect()) {
        Ok(config) => config,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("stripe-emulator: {message}");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let running = match stripe_emulator::start(config.clone()).await {
        Ok(running) => running,
        Err(err) => {
            eprintln!("stripe-emulator: cannot listen on {}: {err}", config.addr);
            return ExitCode::from(1);
        }
    };
    println!("stripe-emulator listening on {}", running.base_url());
    println!("  Stripe.js stand-in: {}/v3/", running.base_url());
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
    ExitCode::SUCCESS
}
