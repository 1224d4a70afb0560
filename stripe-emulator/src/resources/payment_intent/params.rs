//! What requests to PaymentIntents take: the options of a confirm, and Stripe's rules on
//! amounts and currencies.

use crate::error::{ApiError, ApiResult};
use crate::form::Form;

/// Options a confirm takes, from `create(confirm=true)` or `POST …/confirm`.
#[derive(Debug, Default)]
pub struct Confirm {
    pub payment_method: Option<String>,
    pub off_session: bool,
    pub error_on_requires_action: bool,
    pub receipt_email: Option<String>,
    pub setup_future_usage: Option<&'static str>,
}

impl Confirm {
    pub fn take(form: &mut Form) -> ApiResult<Confirm> {
        let off_session = match form.take_nonempty("off_session")?.as_deref() {
            None | Some("false") => false,
            Some("true" | "one_off" | "recurring") => true,
            Some(other) => {
                return Err(ApiError::invalid_value(
                    "off_session",
                    format!("Invalid off_session: {other}"),
                ))
            }
        };
        // Accepted as Stripe does; they change nothing for cards here.
        form.take_str("return_url")?;
        form.take_bool("use_stripe_sdk")?;
        if let Some(mut options) = form.take_form("payment_method_options")? {
            if let Some(mut card) = options.take_form("card")? {
                card.take_enum("request_three_d_secure", &["any", "automatic", "challenge"])?;
                card.finish()?;
            }
            options.finish()?;
        }
        Ok(Confirm {
            payment_method: form.take_nonempty("payment_method")?,
            off_session,
            error_on_requires_action: form.take_bool("error_on_requires_action")?.unwrap_or(false),
            receipt_email: form.take_nonempty("receipt_email")?,
            setup_future_usage: form
                .take_enum("setup_future_usage", &["off_session", "on_session"])?,
        })
    }
}

/// Smallest amount Stripe charges, in minor units (50 cents or the local equivalent).
fn minimum_amount(currency: &str) -> i64 {
    match currency {
        "jpy" => 50,
        "gbp" => 30,
        "huf" => 17500,
        "inr" | "mxn" => 1000,
        "hkd" | "sek" | "nok" | "dkk" => 300,
        _ => 50,
    }
}

pub fn check_amount(amount: i64, currency: &str) -> ApiResult<()> {
    let minimum = minimum_amount(currency);
    if amount < minimum {
        return Err(ApiError::invalid(
            "amount_too_small",
            format!(
                "Amount must be at least {minimum} {currency} in the currency's smallest unit."
            ),
        )
        .with_param("amount"));
    }
    if amount > 99_999_999 {
        return Err(
            ApiError::invalid("amount_too_large", "Amount must be no more than 99999999.")
                .with_param("amount"),
        );
    }
    Ok(())
}

pub fn check_currency(currency: &str) -> ApiResult<String> {
    let lower = currency.to_ascii_lowercase();
    match lower.parse::<stripe_types::Currency>() {
        Ok(stripe_types::Currency::Unknown(_)) | Err(_) => Err(ApiError::invalid_value(
            "currency",
            format!("Invalid currency: {lower}. Stripe currently supports these currencies: usd, eur, gbp, …"),
        )),
        Ok(_) => Ok(lower),
    }
}
