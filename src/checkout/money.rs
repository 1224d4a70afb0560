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

#[cfg(test)]
mod tests {
    use super::format_amount;

    #[test]
    fn amounts_render_with_symbol_and_minor_units() {
        assert_eq!(format_amount(1450, "eur"), "€14.50");
        assert_eq!(format_amount(5, "usd"), "$0.05");
        assert_eq!(format_amount(500, "jpy"), "¥500");
        assert_eq!(format_amount(1000, "chf"), "10.00 CHF");
    }
}
