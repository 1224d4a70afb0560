//! SQL whose parameters are numbered as they are bound. The store speaks to SQLite and
//! PostgreSQL through sqlx's `Any` driver, which takes `$1, $2…` on both; sqlx's own
//! `QueryBuilder` writes `?` for `Any`, which PostgreSQL refuses. Here a statement is written
//! with `?` where each value goes, pieces (a lease's condition, say) are joined with their
//! values, and the `?`s become `$1…$n` in order when it runs: no number is written by hand.

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{Any, Arguments, Executor};

/// A value a statement binds: the few kinds the store's columns hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(Option<String>),
    Integer(Option<i64>),
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        Value::Text(v.map(str::to_owned))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Integer(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Integer(v)
    }
}
impl From<bool> for Value {
    /// As the schema keeps flags: 0 or 1.
    fn from(v: bool) -> Value {
        Value::Integer(Some(i64::from(v)))
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}

/// A statement and its values, in the order of its `?`s.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// A statement with no value bound yet; each `?` in `text` takes the next [`Sql::bind`].
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    /// More of the statement.
    pub fn push(mut self, text: &str) -> Sql {
        self.text.push_str(text);
        self
    }

    /// The value of the next `?`.
    pub fn bind(mut self, value: impl Into<Value>) -> Sql {
        self.values.push(value.into());
        self
    }

    /// Another piece, with its own `?`s and values, after what is written so far.
    pub fn join(mut self, piece: Sql) -> Sql {
        self.text.push_str(&piece.text);
        self.values.extend(piece.values);
        self
    }

    /// The statement as the database gets it: `?` numbered `$1…$n`.
    fn numbered(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        let mut n = 0;
        for c in self.text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        assert_eq!(
            n,
            self.values.len(),
            "every ? of a statement has its value: {}",
            self.text
        );
        out
    }

    fn arguments(self) -> AnyArguments<'static> {
        let mut args = AnyArguments::default();
        for value in self.values {
            // Encoding into the Any driver's own values cannot fail.
            let added = match value {
                Value::Text(v) => args.add(v),
                Value::Integer(v) => args.add(v),
                Value::Bytes(v) => args.add(v),
            };
            added.expect("a value the Any driver takes");
        }
        args
    }

    pub async fn execute<'c>(
        self,
        on: impl Executor<'c, Database = Any>,
    ) -> Result<AnyQueryResult, sqlx::Error> {
        let text = self.numbered();
        sqlx::query_with(&text, self.arguments()).execute(on).await
    }

    pub async fn fetch_optional<'c>(
        self,
        on: impl Executor<'c, Database = Any>,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let text = self.numbered();
        sqlx::query_with(&text, self.arguments())
            .fetch_optional(on)
            .await
    }

    pub async fn fetch_one<'c>(
        self,
        on: impl Executor<'c, Database = Any>,
    ) -> Result<AnyRow, sqlx::Error> {
        let text = self.numbered();
        sqlx::query_with(&text, self.arguments())
            .fetch_one(on)
            .await
    }

    pub async fn fetch_all<'c>(
        self,
        on: impl Executor<'c, Database = Any>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let text = self.numbered();
        sqlx::query_with(&text, self.arguments())
            .fetch_all(on)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::Sql;

    #[test]
    fn values_are_numbered_in_the_order_of_their_marks_across_joined_pieces() {
        let lease = Sql::new(" AND lease_token = ?").bind("t");
        let sql = Sql::new("UPDATE orders SET status = ? WHERE id = ?")
            .bind("paid")
            .bind("ord_1")
            .join(lease)
            .push(" AND n < ?")
            .bind(3_i64);
        assert_eq!(
            sql.numbered(),
            "UPDATE orders SET status = $1 WHERE id = $2 AND lease_token = $3 AND n < $4"
        );
    }

    #[test]
    #[should_panic(expected = "every ? of a statement has its value")]
    fn a_mark_without_its_value_is_caught_before_the_database_sees_it() {
        Sql::new("SELECT 1 WHERE id = ? AND x = ?")
            .bind("a")
            .numbered();
    }
}
