//! Which language a request gets: the shopper's own choice (the page's switch, remembered in
//! a cookie), else the browser's `Accept-Language`, else the shop's default (`[shop] locale`
//! in Leptos.toml). Decided on the server for every page and server function, so the HTML
//! and the island (given the locale in the page's data) always agree: no flash of the other
//! language.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::i18n::{I18nLocaleTrait, Locale};
use crate::server::state::AppState;

/// Holds the language the shopper chose with the switch.
pub const COOKIE_NAME: &str = "checkout_lang";
/// A choice of language is kept for a year.
const MAX_AGE_SECONDS: i64 = 365 * 24 * 3600;

/// `fr`, `fr-CA`, `FR` → French; a language the shop does not have → `None`.
fn from_tag(tag: &str) -> Option<Locale> {
    let primary = tag.trim().split(['-', '_']).next()?;
    Locale::get_all()
        .iter()
        .copied()
        .find(|l| l.as_str().eq_ignore_ascii_case(primary))
}

/// The best language of an `Accept-Language` header the shop has, by the header's weights
/// (`q=0` means "not this one").
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut ranked: Vec<(u16, Locale)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let locale = from_tag(parts.next()?)?;
            let weight =
                parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), |q| {
                        q.trim()
                            .parse::<f32>()
                            .ok()
                            .filter(|q| (0.0..=1.0).contains(q))
                            .map(|q| (q * 1000.0) as u16)
                    })?;
            (weight > 0).then_some((weight, locale))
        })
        .collect();
    // Stable: of equal weights, the header's first wins.
    ranked.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    ranked.first().map(|(_, locale)| *locale)
}

/// The language of a request: its cookie, else `Accept-Language`, else `default`.
pub fn negotiate(headers: &HeaderMap, default: Locale) -> Locale {
    let chosen = crate::server::session::cookie_value(headers, COOKIE_NAME).and_then(from_tag);
    let accepted = || {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language)
    };
    chosen.or_else(accepted).unwrap_or(default)
}

/// The language of the request being rendered or served (SSR and server functions).
pub fn request_locale() -> Locale {
    use leptos::prelude::use_context;
    let default = use_context::<Arc<AppState>>()
        .map(|s| s.default_locale)
        .unwrap_or_default();
    use_context::<axum::http::request::Parts>()
        .map_or(default, |parts| negotiate(&parts.headers, default))
}

#[derive(Deserialize)]
pub struct Switch {
    lang: String,
    #[serde(default)]
    return_to: String,
}

/// `POST /language` (the switch's form): remembers the choice and goes back to the page, which
/// the server renders again in that language. Works without JavaScript.
pub async fn switch(State(state): State<Arc<AppState>>, Form(form): Form<Switch>) -> Response {
    let Some(locale) = from_tag(&form.lang).filter(|l| l.as_str() == form.lang) else {
        return (StatusCode::BAD_REQUEST, "Unknown language.").into_response();
    };
    let back = if same_site_path(&form.return_to) {
        form.return_to.as_str()
    } else {
        "/"
    };
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={}; Path=/; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}{secure}",
        locale.as_str()
    );
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(back)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Only a path of this site: never an open redirect. Browsers drop tabs and line breaks from a
/// URL and read `\\` as `/`, so `/<tab>/evil.example` would be `//evil.example` (another
/// site): a path with any control character, space or backslash is refused, as is `//`.
fn same_site_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::{from_accept_language, negotiate, same_site_path};

    #[test]
    fn the_switch_goes_back_only_to_a_path_of_this_site() {
        for ok in [
            "/",
            "/merchant",
            "/merchant/orders/ord_1?done=K",
            "/?a=%2F%2Fx",
        ] {
            assert!(same_site_path(ok), "{ok:?}");
        }
        for bad in [
            "",
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example",
            "evil",
            "/ /x",
            "/\u{0}/x",
            "/\u{85}/x",
            "/\u{2028}/x",
        ] {
            assert!(!same_site_path(bad), "{bad:?}");
        }
    }
    use crate::i18n::Locale;
    use axum::http::{header, HeaderMap, HeaderValue};

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| (n.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn accept_language_picks_the_best_weighted_language_the_shop_has() {
        assert_eq!(
            from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"),
            Some(Locale::fr)
        );
        assert_eq!(
            from_accept_language("de-DE,en-GB;q=0.7,fr;q=0.8"),
            Some(Locale::fr)
        );
        assert_eq!(from_accept_language("en;q=0.5, FR-ca"), Some(Locale::fr));
        assert_eq!(from_accept_language("fr;q=0, en;q=0.1"), Some(Locale::en));
        assert_eq!(from_accept_language("de, es;q=0.9"), None);
        assert_eq!(from_accept_language("fr;q=banana"), None);
        assert_eq!(from_accept_language(""), None);
    }

    #[test]
    fn the_switch_s_cookie_beats_the_browser_which_beats_the_shop_default() {
        let both = headers(&[
            (header::COOKIE, "checkout_order=x; checkout_lang=en"),
            (header::ACCEPT_LANGUAGE, "fr"),
        ]);
        assert_eq!(negotiate(&both, Locale::fr), Locale::en);
        let browser = headers(&[(header::ACCEPT_LANGUAGE, "fr-FR")]);
        assert_eq!(negotiate(&browser, Locale::en), Locale::fr);
        let unknown = headers(&[
            (header::COOKIE, "checkout_lang=xx"),
            (header::ACCEPT_LANGUAGE, "de"),
        ]);
        assert_eq!(negotiate(&unknown, Locale::fr), Locale::fr);
        assert_eq!(negotiate(&HeaderMap::new(), Locale::en), Locale::en);
    }
}
