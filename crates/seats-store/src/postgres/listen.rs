//! Credential changes made by any node, heard at once: one connection per node listens on
//! channel `seats_credentials` (notified by triggers, see migration 0001) and drops the
//! node's credential snapshot when its schema's credentials move.
//!
//! While the listening connection is down, nothing is heard; the snapshot's version is then
//! still compared once it is older than [`crate::credentials::RECHECK_AFTER`], so the bound on
//! a stale credential stays one second. On reconnecting the snapshot is dropped once, for
//! whatever changed unheard.

use std::sync::Weak;
use std::time::Duration;

use futures::StreamExt;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::credentials::CredentialCache;

/// Wait before listening again after the connection failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Listens until the store (owner of `cache`) is gone.
pub(super) async fn run(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    schema: String,
    cache: Weak<CredentialCache>,
) {
    loop {
        let outcome = listen(&config, tls.clone(), &schema, &cache).await;
        if cache.strong_count() == 0 {
            return;
        }
        match outcome {
            Ok(()) => tracing::warn!("credential notifications stopped; listening again"),
            Err(e) => tracing::warn!(error = %e, "credential notifications unavailable; retrying"),
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

async fn listen(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    schema: &str,
    cache: &Weak<CredentialCache>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // The connection delivers notifications only while it is polled.
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message? {
                AsyncMessage::Notification(n) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                _ => continue,
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    client.batch_execute("LISTEN seats_credentials").await?;
    match cache.upgrade() {
        Some(cache) => cache.invalidate(),
        None => return Ok(()),
    }
    while let Some(payload) = rx.recv().await {
        let Some(cache) = cache.upgrade() else {
            return Ok(());
        };
        if payload == schema {
            cache.invalidate();
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}
