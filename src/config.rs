//! Runtime settings of the server: `Leptos.toml` (or the file named by `CHECKOUT_CONFIG`),
//! read once at start-up. A missing or malformed file stops start-up with a message that
//! names the file, rather than serving with guessed settings.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the settings are read from unless `CHECKOUT_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub shop: Shop,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shop {
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("settings file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Settings {
    /// Reads the settings file named by `CHECKOUT_CONFIG`, or `Leptos.toml`.
    pub fn load() -> Result<Self, ConfigError> {
        let path = std::env::var_os("CHECKOUT_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        Self::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        if settings.shop.name.trim().is_empty() {
            return Err("shop.name must not be empty".to_owned());
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_settings_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_FILE);
        let settings = Settings::from_file(&path).expect("Leptos.toml parses");
        assert!(!settings.shop.name.is_empty());
    }

    #[test]
    fn an_unknown_setting_is_refused_so_typos_do_not_pass_silently() {
        let err = Settings::parse("[shop]\nname = \"x\"\ncurrancy = \"eur\"\n").unwrap_err();
        assert!(err.contains("currancy"), "{err}");
    }

    #[test]
    fn an_empty_shop_name_is_refused() {
        assert!(Settings::parse("[shop]\nname = \"  \"\n").is_err());
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = Settings::from_file(Path::new("/nonexistent/checkout.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/checkout.toml"));
    }
}
