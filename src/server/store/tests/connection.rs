//! The connection: an outage is told apart, SQLite's checkpoints stay off the request path, idle connections are replaced.

use std::time::Duration;

use sqlx::Row;

use super::*;
use crate::domain::catalogue::sample;
use crate::server::store::connection::PING_AFTER_IDLE;

#[tokio::test]
async fn a_database_out_of_reach_tells_the_shopper_to_try_again_and_other_failures_do_not() {
    let (store, _db) = store().await;
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    store.pool.close().await;
    let err = store.get(&id).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(
        crate::domain::CheckoutError::from(err),
        crate::domain::CheckoutError::ShopUnavailable
    );
    let other = StoreError::UnknownStatus(id.clone(), "lost".into());
    assert!(!other.is_unavailable());
    assert_eq!(
        crate::domain::CheckoutError::from(other),
        crate::domain::CheckoutError::Internal
    );
    assert_eq!(
        crate::domain::CheckoutError::from(StoreError::LeaseLost(id)),
        crate::domain::CheckoutError::PaymentInProgress
    );
}

#[tokio::test]
async fn a_commit_never_checkpoints_sqlite_the_background_task_does() {
    let (store, database) = store().await;
    let Some(path) = database.url.strip_prefix("sqlite://") else {
        return;
    };
    // Well past SQLite's default of 1,000 pages, after which a commit would checkpoint (and
    // the WAL file would be written again from its start: measured, it stays at 1,015 pages).
    for _ in 0..600 {
        store.open_order(&new_order_id(), &sample()).await.unwrap();
    }
    let page_size: i64 = sqlx::query("PRAGMA page_size")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get(0);
    let wal_pages = std::fs::metadata(format!("{path}-wal")).unwrap().len() as i64 / page_size;
    assert!(
        wal_pages > 2000,
        "every commit stays in the WAL until a checkpoint: {wal_pages} pages"
    );

    // The WAL header's checkpoint sequence number (bytes 12..16) counts the times the WAL was
    // started again, which a writer does once a checkpoint has copied every frame. Read from
    // the file, it is seen without checkpointing anything.
    let restarts = || {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(format!("{path}-wal"))
            .unwrap()
            .read_exact(&mut header)
            .unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    let before = restarts();
    let _task = store.spawn_checkpoints(Duration::from_millis(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while restarts() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the background checkpoint never let the WAL start again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.open_order(&new_order_id(), &sample()).await.unwrap();
    }
}

#[tokio::test]
async fn a_connection_the_database_closed_while_idle_is_replaced_before_use() {
    let (store, database) = store().await;
    // A SQLite connection is a file: nothing outside the process closes it.
    let Ok(server) = std::env::var(POSTGRES_VARIABLE) else {
        return;
    };
    let id = new_order_id();
    store.open_order(&id, &sample()).await.unwrap();
    // The database ends every connection of the store (as a restart does) while they are idle.
    use sqlx::Connection;
    let mut admin = sqlx::AnyConnection::connect(&server).await.unwrap();
    let name = database.url.rsplit('/').next().unwrap();
    let ended = sqlx::query(
        "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await
    .unwrap()
    .get::<i64, _>("n");
    assert!(ended >= 1, "the store's connections were ended");
    tokio::time::sleep(PING_AFTER_IDLE + Duration::from_millis(200)).await;
    assert_eq!(
        store.get(&id).await.unwrap().map(|o| o.id),
        Some(id),
        "the next read finds the order on a new connection"
    );
}
