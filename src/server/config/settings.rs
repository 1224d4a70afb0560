//! The shop's settings (`Leptos.toml`): its name, currency, language, capture mode and
//! catalogue, read once at start-up and checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, DEFAULT_CONFIG_FILE};
use crate::domain::{Catalogue, Product};

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub shop: Shop,
    #[serde(default)]
    pub payments: Payments,
    pub products: Vec<Product>,
}

/// How payments are taken (`[payments]` in `Leptos.toml`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Payments {
    #[serde(default)]
    pub capture: CaptureMode,
}

/// When the money is taken: at payment (the default), or when the merchant captures the
/// authorisation from the back office (within Stripe's seven days).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    #[default]
    Automatic,
    Manual,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shop {
    pub name: String,
    pub currency: String,
    /// The language of a shopper who has not chosen one and whose browser asks for none the
    /// shop has (`en` or `fr`, the files in locales/).
    #[serde(default)]
    pub locale: crate::i18n::Locale,
}

impl Settings {
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path = env("CHECKOUT_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        Self::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        if settings.shop.name.trim().is_empty() {
            return Err("shop.name must not be empty".to_owned());
        }
        settings.catalogue().validate()?;
        settings.currency()?;
        Ok(settings)
    }

    /// The shop's currency as Stripe knows it; one Stripe does not know stops start-up, and so
    /// does one with three decimals (their amounts would be shown and read as two-decimal).
    pub fn currency(&self) -> Result<stripe_types::Currency, String> {
        if THREE_DECIMAL_CURRENCIES.contains(&self.shop.currency.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "shop.currency {:?} has three decimals, which this checkout does not show or read: choose a currency with two decimals or none",
                self.shop.currency
            ));
        }
        match self.shop.currency.parse::<stripe_types::Currency>() {
            Ok(stripe_types::Currency::Unknown(_)) | Err(_) => Err(format!(
                "shop.currency {:?} is not a currency Stripe knows",
                self.shop.currency
            )),
            Ok(currency) => Ok(currency),
        }
    }

    pub fn catalogue(&self) -> Catalogue {
        Catalogue {
            currency: self.shop.currency.clone(),
            products: self.products.clone(),
        }
    }
}

/// The reconciler's passes.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileSettings {
    /// Between passes (`CHECKOUT_RECONCILE_SECONDS`, default 60).
    pub interval: Duration,
}

/// Stripe's three-decimal currencies (https://docs.stripe.com/currencies#three-decimal).
const THREE_DECIMAL_CURRENCIES: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];
