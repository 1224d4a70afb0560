//! Secrets kept in the database, so every server of a shop has the same (the cookie signing
//! key: any server accepts any shopper's cookie).

use rand::Rng;
use sqlx::Row;

use super::sql::Sql;
use super::{OrderStore, StoreError};

impl OrderStore {
    /// A secret kept in the database, generated on first use (`len` random bytes).
    pub async fn server_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let fresh: Vec<u8> = (0..len).map(|_| rand::rng().random()).collect();
        Sql::new(
            "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&self.pool)
        .await?;
        let row = Sql::new("SELECT value FROM server_secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<Vec<u8>, _>("value"))
    }
}
