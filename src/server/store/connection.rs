//! The connection: SQLite (a file, created if needed) or PostgreSQL, its pool, and each
//! database's migrations, run at start-up; SQLite's checkpoints, off the request path.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{OrderStore, StoreError, Watch};

/// The database behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite file.
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The migrations, in order; the SQL lives beside this file.
pub(super) fn migrator(backend: Backend) -> Migrator {
    let migration = |version, name, sql, no_tx| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            no_tx,
        )
    };
    let migrations = match backend {
        // SQLite's history: its tables were rebuilt as the schema grew (SQLite cannot alter a CHECK).
        Backend::Sqlite => vec![
            migration(
                1,
                "orders",
                include_str!("migrations/sqlite/0001_orders.sql"),
                false,
            ),
            migration(
                2,
                "money integrity",
                include_str!("migrations/sqlite/0002_money_integrity.sql"),
                false,
            ),
            migration(
                3,
                "guide options",
                include_str!("migrations/sqlite/0003_guide_options.sql"),
                false,
            ),
            migration(
                4,
                "server leases",
                include_str!("migrations/sqlite/0004_server_leases.sql"),
                false,
            ),
            migration(
                5,
                "fulfilment trigger",
                include_str!("migrations/sqlite/0005_fulfilment_trigger.sql"),
                false,
            ),
            migration(
                6,
                "lines with order",
                include_str!("migrations/sqlite/0006_lines_with_order.sql"),
                false,
            ),
            migration(
                7,
                "safety net",
                include_str!("migrations/sqlite/0007_safety_net.sql"),
                false,
            ),
            migration(
                8,
                "attempts",
                include_str!("migrations/sqlite/0008_attempts.sql"),
                false,
            ),
        ],
        // PostgreSQL starts at the schema SQLite reached with its third migration.
        Backend::Postgres => vec![
            migration(
                3,
                "schema",
                include_str!("migrations/postgres/0003_schema.sql"),
                false,
            ),
            migration(
                4,
                "server leases",
                include_str!("migrations/postgres/0004_server_leases.sql"),
                false,
            ),
            migration(
                5,
                "fulfilment trigger",
                include_str!("migrations/postgres/0005_fulfilment_trigger.sql"),
                false,
            ),
            migration(
                6,
                "lines with order",
                include_str!("migrations/postgres/0006_lines_with_order.sql"),
                false,
            ),
            migration(
                7,
                "safety net",
                include_str!("migrations/postgres/0007_safety_net.sql"),
                false,
            ),
            migration(
                8,
                "attempts",
                include_str!("migrations/postgres/0008_attempts.sql"),
                false,
            ),
        ],
    };
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// How many connections a server keeps, and how long a request waits for one (then the
/// shopper is told to try again): `DATABASE_MAX_CONNECTIONS`, `DATABASE_ACQUIRE_TIMEOUT_MS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A pooled connection idle this long is pinged before use (a database restarted meanwhile
/// costs a reconnect, not a failed request).
pub(super) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

impl OrderStore {
    /// Opens the database at `url` (a SQLite file, created if needed, or PostgreSQL) and
    /// brings its schema up to date.
    ///
    /// SQLite runs in WAL with `synchronous=NORMAL`: a commit is in the WAL file when it
    /// returns, so it survives the process dying at once; the disk catches up at each
    /// checkpoint (see [`OrderStore::spawn_checkpoints`]), which bounds what a power loss can
    /// take back.
    ///
    /// Checkpoints run off the request path: SQLite's own, run inside whichever commit finds
    /// 1,000 pages in the WAL (its default), stall that commit (copying and two fsyncs); they
    /// now start only at 16,384 pages, a backstop for a store without the background task.
    pub async fn connect(url: &str) -> Result<OrderStore, StoreError> {
        OrderStore::connect_with(url, PoolSettings::default()).await
    }

    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<OrderStore, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url);
        let options = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // sqlx pings every connection it hands out by default: a round trip before each
            // statement (a worker-thread hop for SQLite, the network for PostgreSQL). sqlx
            // already pings each connection it takes back; only one left idle a while is
            // pinged again before use.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        use sqlx::Connection;
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        let pool = match backend {
            Backend::Sqlite => {
                // `mode=rwc` creates the file; the rest is set on each connection.
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;
                                 PRAGMA wal_autocheckpoint = 16384;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.connect(url).await?,
        };
        migrator(backend).run(&pool).await?;
        Ok(OrderStore {
            pool,
            backend,
            watch: Watch::default(),
            held: Arc::default(),
        })
    }

    /// The store, looking at orders as `watch` says.
    pub fn with_watch(mut self, watch: Watch) -> OrderStore {
        self.watch = watch;
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checkpoints the WAL every `every` (a PASSIVE checkpoint syncs the WAL to disk first):
    /// one fsync off the request path, so a power loss takes back at most the writes of the
    /// last `every`. Runs for the life of the runtime.
    pub fn spawn_checkpoints(&self, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        // PostgreSQL syncs its own log at each commit.
        if self.backend != Backend::Sqlite {
            return None;
        }
        let pool = self.pool.clone();
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(%err, "WAL checkpoint failed; the next one tries again");
                }
            }
        }))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Every migration this build knows has been applied to the database (another server's
    /// newer ones may be there too).
    pub async fn schema_is_current(&self) -> Result<bool, StoreError> {
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await?;
        let applied: Vec<i64> = rows
            .iter()
            .map(|row| sqlx::Row::try_get(row, 0))
            .collect::<Result<_, _>>()?;
        Ok(migrator(self.backend)
            .iter()
            .all(|m| applied.contains(&m.version)))
    }
}
