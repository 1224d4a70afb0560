//! The server's configuration: the shop and catalogue from `Leptos.toml` (or the file named
//! by `CHECKOUT_CONFIG`), Stripe and storage from the environment (`.env` is read first).
//! Anything inconsistent stops start-up with a message naming the file or variable.

use std::path::PathBuf;

/// Where the settings are read from unless `CHECKOUT_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";
/// Where the embedded emulator listens unless `STRIPE_EMULATOR_ADDR` says otherwise.
pub const DEFAULT_EMULATOR_ADDR: &str = "127.0.0.1:12111";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://checkout.db";
pub const STRIPE_API: &str = "https://api.stripe.com/";
pub const STRIPE_JS: &str = "https://js.stripe.com/v3/";
/// Keys the embedded emulator is used with: test keys that open nothing anywhere else.
pub const EMULATOR_SECRET_KEY: &str = "sk_test_localEmulatorOnly";
pub const EMULATOR_PUBLISHABLE_KEY: &str = "pk_test_localEmulatorOnly";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{variable}: {message}")]
    Variable {
        variable: &'static str,
        message: String,
    },
}

pub(crate) fn variable(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Variable {
        variable,
        message: message.into(),
    }
}

/// A whole number in `range` from the variable `name`, `default` when unset; `unit` names it
/// in the error.
pub(crate) fn whole_number(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(variable(
                name,
                format!(
                    "must be a number{unit} from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        },
    }
}

/// A guessable secret (the back office's, the metrics') is refused at start-up.
pub const MIN_TOKEN_LEN: usize = 20;

/// A secret token from the variable `name`: long enough, printable, no spaces.
pub(crate) fn secret_token(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    match get(name) {
        Some(token)
            if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Err(variable(
                name,
                format!("must be at least {MIN_TOKEN_LEN} printable characters without spaces (e.g. `openssl rand -hex 24`)"),
            ))
        }
        token => Ok(token),
    }
}

mod environment;
mod operations;
mod settings;
#[cfg(test)]
mod tests;

pub use environment::*;
pub use operations::*;
pub use settings::*;
