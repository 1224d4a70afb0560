//! Amounts for shoppers: minor units rendered in the currency's and the language's own way
//! (en `€1,450.00`, fr `1 450,00 €`). Written here rather than with leptos_i18n's ICU
//! formatting, which would bring ICU's number data into the WASM for two languages' rules.

use crate::i18n::Locale;

/// Currencies Stripe treats as having no minor unit.
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// French groups thousands with a narrow no-break space and puts a no-break space before the
/// symbol (as CLDR, and so browsers' `Intl.NumberFormat`, do).
const NARROW_NBSP: char = '\u{202f}';
const NBSP: char = '\u{a0}';

/// `1450, "eur"` → `€14.50` (en) or `14,50 €` (fr); a currency without a symbol here is
/// written with its code (`10.00 CHF`).
pub fn format_amount(minor: i64, currency: &str, locale: Locale) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let (group, decimal) = match locale {
        Locale::en => (',', '.'),
        Locale::fr => (NARROW_NBSP, ','),
    };
    let (whole, fraction) = if ZERO_DECIMAL.contains(&currency) {
        (abs, None)
    } else {
        (abs / 100, Some(abs % 100))
    };
    let digits = whole.to_string();
    let mut number = String::with_capacity(digits.len() + 8);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            number.push(group);
        }
        number.push(digit);
    }
    if let Some(fraction) = fraction {
        number.push(decimal);
        number.push_str(&format!("{fraction:02}"));
    }
    let symbol = match (currency, locale) {
        ("eur", _) => Some("€"),
        ("gbp", Locale::en) => Some("£"),
        ("gbp", Locale::fr) => Some("£GB"),
        ("usd", Locale::en) => Some("$"),
        ("usd", Locale::fr) => Some("$US"),
        ("jpy", Locale::en) => Some("¥"),
        _ => None,
    };
    match (symbol, locale) {
        (Some(symbol), Locale::en) => format!("{sign}{symbol}{number}"),
        (Some(symbol), Locale::fr) => format!("{sign}{number}{NBSP}{symbol}"),
        (None, _) => format!("{sign}{number}{NBSP}{}", currency.to_ascii_uppercase()),
    }
}

/// What a merchant types (`10`, `10.5`, `10.50`; `,` also works as the decimal mark) in
/// minor units of `currency`; `None` for anything else, zero, or more decimals than it has.
pub fn parse_amount(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let decimals = if ZERO_DECIMAL.contains(&currency) {
        0
    } else {
        2
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 9
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > decimals
    {
        return None;
    }
    let minor = whole.parse::<i64>().ok()? * 10_i64.pow(decimals as u32)
        + format!("{fraction:0<decimals$}")
            .parse::<i64>()
            .unwrap_or(0);
    (minor > 0).then_some(minor)
}

/// A card brand as Stripe names it (`visa`), as shoppers read it (`Visa`).
pub fn brand_name(brand: &str) -> String {
    match brand {
        "visa" => "Visa".into(),
        "mastercard" => "Mastercard".into(),
        "amex" => "American Express".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{format_amount, parse_amount};
    use crate::i18n::Locale;

    #[test]
    fn a_merchant_amount_is_read_in_minor_units_or_refused() {
        assert_eq!(parse_amount("10", "eur"), Some(1000));
        assert_eq!(parse_amount("10.5", "eur"), Some(1050));
        assert_eq!(parse_amount(" 0,05 ", "eur"), Some(5));
        assert_eq!(parse_amount("500", "jpy"), Some(500));
        for bad in [
            "",
            "0",
            "0.00",
            "-5",
            "1.234",
            "1e3",
            "abc",
            "1.2.3",
            ".5",
            "99999999999",
            "5.5",
        ] {
            let currency = if bad == "5.5" { "jpy" } else { "eur" };
            assert_eq!(parse_amount(bad, currency), None, "{bad:?}");
        }
    }

    #[test]
    fn english_amounts_put_the_symbol_first_and_group_thousands_with_commas() {
        assert_eq!(format_amount(1450, "eur", Locale::en), "€14.50");
        assert_eq!(format_amount(145_000, "eur", Locale::en), "€1,450.00");
        assert_eq!(
            format_amount(123_456_789, "eur", Locale::en),
            "€1,234,567.89"
        );
        assert_eq!(format_amount(5, "usd", Locale::en), "$0.05");
        assert_eq!(format_amount(500, "jpy", Locale::en), "¥500");
        assert_eq!(format_amount(1000, "chf", Locale::en), "10.00\u{a0}CHF");
        assert_eq!(format_amount(-550, "eur", Locale::en), "-€5.50");
    }

    #[test]
    fn french_amounts_use_a_decimal_comma_spaced_thousands_and_the_symbol_last() {
        assert_eq!(format_amount(1450, "eur", Locale::fr), "14,50\u{a0}€");
        assert_eq!(
            format_amount(145_000, "eur", Locale::fr),
            "1\u{202f}450,00\u{a0}€"
        );
        assert_eq!(
            format_amount(100_000_000, "eur", Locale::fr),
            "1\u{202f}000\u{202f}000,00\u{a0}€"
        );
        assert_eq!(format_amount(999, "eur", Locale::fr), "9,99\u{a0}€");
        assert_eq!(format_amount(1000, "chf", Locale::fr), "10,00\u{a0}CHF");
        assert_eq!(
            format_amount(1_234_500, "jpy", Locale::fr),
            "1\u{202f}234\u{202f}500\u{a0}JPY"
        );
    }
}
