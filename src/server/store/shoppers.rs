//! Browsers that saved a card: their Stripe Customer, and the cards they are shown. A card
//! belongs to the browser whose signed cookie saved it, never to an e-mail address.

use sqlx::Row;

use super::{now, OrderStore, StoreError};
use crate::domain::SavedCard;

/// A browser that saved (or is saving) a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    pub browser_id: String,
    pub stripe_customer_id: Option<String>,
    pub email: String,
}

impl OrderStore {
    pub async fn shopper(&self, browser_id: &str) -> Result<Option<Shopper>, StoreError> {
        let row = sqlx::query(
            "SELECT browser_id, stripe_customer_id, email FROM shoppers WHERE browser_id = $1",
        )
        .bind(browser_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Shopper {
            browser_id: r.get("browser_id"),
            stripe_customer_id: r.get("stripe_customer_id"),
            email: r.get("email"),
        }))
    }

    /// Stores the browser as a shopper, once (the first e-mail given stays).
    pub async fn add_shopper(&self, browser_id: &str, email: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO shoppers (browser_id, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (browser_id) DO NOTHING")
            .bind(browser_id)
            .bind(email)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Binds the shopper to its Stripe Customer, unless it has one; the one it has after.
    pub async fn set_customer(
        &self,
        browser_id: &str,
        customer_id: &str,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query("UPDATE shoppers SET stripe_customer_id = $1 WHERE browser_id = $2 AND stripe_customer_id IS NULL")
            .bind(customer_id)
            .bind(browser_id)
            .execute(&self.pool)
            .await?;
        Ok(self
            .shopper(browser_id)
            .await?
            .and_then(|s| s.stripe_customer_id))
    }

    /// The browser that owns a Stripe Customer.
    pub async fn shopper_of_customer(
        &self,
        customer_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT browser_id FROM shoppers WHERE stripe_customer_id = $1")
            .bind(customer_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("browser_id")))
    }

    pub async fn saved_cards(&self, browser_id: &str) -> Result<Vec<SavedCard>, StoreError> {
        let rows = sqlx::query(
            "SELECT payment_method_id, brand, last4, exp_month, exp_year FROM saved_cards WHERE browser_id = $1 ORDER BY created_at, payment_method_id",
        )
        .bind(browser_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SavedCard {
                payment_method_id: r.get("payment_method_id"),
                brand: r.get("brand"),
                last4: r.get("last4"),
                exp_month: r.get("exp_month"),
                exp_year: r.get("exp_year"),
            })
            .collect())
    }

    /// The saved card `payment_method_id` if this browser owns it.
    pub async fn saved_card_of(
        &self,
        browser_id: &str,
        payment_method_id: &str,
    ) -> Result<Option<SavedCard>, StoreError> {
        Ok(self
            .saved_cards(browser_id)
            .await?
            .into_iter()
            .find(|c| c.payment_method_id == payment_method_id))
    }

    /// Remembers a card a payment saved (once).
    pub async fn remember_card(
        &self,
        browser_id: &str,
        card: &SavedCard,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO saved_cards (payment_method_id, browser_id, brand, last4, exp_month, exp_year, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (payment_method_id) DO NOTHING",
        )
        .bind(&card.payment_method_id)
        .bind(browser_id)
        .bind(&card.brand)
        .bind(&card.last4)
        .bind(card.exp_month)
        .bind(card.exp_year)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a card of this browser; false when it has no such card.
    pub async fn forget_card(
        &self,
        browser_id: &str,
        payment_method_id: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM saved_cards WHERE browser_id = $1 AND payment_method_id = $2")
                .bind(browser_id)
                .bind(payment_method_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
