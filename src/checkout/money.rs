//! Amounts for shoppers: minor units rendered in the currency's own way.

/// Currencies Stripe treats as having no minor unit.
const ZERO_DECIMAL: &[&str] = &["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

/// `1450, "eur"` → `€14.50`; unknown symbols fall back to the code (`14.50 CHF`).
pub fn format_amount(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let number = if ZERO_DECIMAL.contains(&currency) { abs.to_string() } else { format!("{}.{:02}", abs / 100, abs % 100) };
    match currency {
        "eur" => format!("{sign}€{number}"),
        "usd" => format!("{sign}${number}"),
        "gbp" => format!("{sign}£{number}"),
        "jpy" => format!("{sign}¥{number}"),
        other => format!("{sign}{number} {}", other.to_ascii_uppercase()),
    }
}

/// What a merchant types (`10`, `10.5`, `10.50`; `,` also works as the decimal mark) in
/// minor units of `currency`; `None` for anything else, zero, or more decimals than it has.
pub fn parse_amount(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let decimals = if ZERO_DECIMAL.contains(&currency) { 0 } else { 2 };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 9 || !digits(whole) || !digits(fraction) || fraction.len() > decimals {
        return None;
    }
    let minor = whole.parse::<i64>().ok()? * 10_i64.pow(decimals as u32) + format!("{fraction:0<decimals$}").parse::<i64>().unwrap_or(0);
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
            chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{format_amount, parse_amount};

    #[test]
    fn a_merchant_amount_is_read_in_minor_units_or_refused() {
        assert_eq!(parse_amount("10", "eur"), Some(1000));
        assert_eq!(parse_amount("10.5", "eur"), Some(1050));
        assert_eq!(parse_amount(" 0,05 ", "eur"), Some(5));
        assert_eq!(parse_amount("500", "jpy"), Some(500));
        for bad in ["", "0", "0.00", "-5", "1.234", "1e3", "abc", "1.2.3", ".5", "99999999999", "5.5"] {
            let currency = if bad == "5.5" { "jpy" } else { "eur" };
            assert_eq!(parse_amount(bad, currency), None, "{bad:?}");
        }
    }

    #[test]
    fn amounts_render_with_symbol_and_minor_units() {
        assert_eq!(format_amount(1450, "eur"), "€14.50");
        assert_eq!(format_amount(5, "usd"), "$0.05");
        assert_eq!(format_amount(500, "jpy"), "¥500");
        assert_eq!(format_amount(1000, "chf"), "10.00 CHF");
    }
}
