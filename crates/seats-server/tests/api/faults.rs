//! Losing PostgreSQL while serving, through a TCP proxy the test cuts and restores: requests
//! get a Cloudflare-shaped 5xx within the statement timeout (never a hang), `/readyz` turns
//! unready, the server recovers by itself, an acknowledged write is never lost and a batch
//! is all or nothing. PostgreSQL only (`SEATS_TEST_POSTGRES_URL`); SQLite has no network.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use seats_store::postgres::testing::TestDatabase;
use seats_store::postgres::{PgOptions, PgStore};
use seats_store::Store;
use serde_json::json;

use crate::helpers::*;
use crate::proxy::Proxy;

const STATEMENT_TIMEOUT: Duration = Duration::from_secs(1);

/// A server whose database connections all go through a proxy, and a direct store to check
/// what the database holds.
async fn proxied_app(test: &str, users: usize) -> Option<(TestApp, Proxy, Arc<dyn Store>)> {
    let db = Arc::new(TestDatabase::create(test).await?);
    let direct: Arc<dyn Store> = TestDb::Postgres(db.clone()).open().await;
    let mut seed = test_seed();
    let extra: Vec<_> = (0..users)
        .map(|i| json!({"email": format!("f{i}@x.com"), "seat_uid": format!("f{i}")}))
        .collect();
    seed["accounts"][0]["users"].as_array_mut().unwrap().extend(extra);
    direct
        .load_seed(
            seats_store::seed::parse(seed.to_string().as_bytes()).unwrap(),
            seats_server::Clock::now(&seats_server::SystemClock),
        )
        .await
        .unwrap();

    let config: tokio_postgres::Config = db.url().parse().unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        other => panic!("the fault tests need PostgreSQL over TCP, not {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let upstream: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Proxy::start(upstream).await;
    let url = db.url().replacen(&format!("{host}:{port}"), &proxy.addr.to_string(), 1);
    assert_ne!(
        url,
        db.url(),
        "{} must name host:port explicitly",
        seats_store::postgres::testing::ENV
    );
    let options = PgOptions {
        pool_size: 4,
        statement_timeout: STATEMENT_TIMEOUT,
        connect_timeout: STATEMENT_TIMEOUT,
        ..PgOptions::default()
    };
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url, options).await.unwrap());
    let app = TestApp::builder().store(TestDb::Postgres(db), store).start().await;
    Some((app, proxy, direct))
}

const UNAVAILABLE: &str = "Service temporarily unavailable: the database cannot take requests now, retry shortly";

async fn ready(app: &TestApp) -> u16 {
    app.request(Method::GET, "/readyz")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits (bounded) until the server says it is ready again.
async fn recovers(app: &TestApp) {
    let started = Instant::now();
    while ready(app).await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The database lost (connections reset, then a silent network), and found again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_the_database_answers_5xx_in_bounded_time_and_recovers() {
    let Some((app, proxy, _direct)) = proxied_app("losing_the_database", 0).await else {
        return;
    };
    assert_eq!(app.patch_seats(&json!([item("bob", true, false)])).await.status(), 200);
    assert_eq!(ready(&app).await, 200);
    // The answer may take the statement timeout plus the client's margin, and no longer.
    let bound = STATEMENT_TIMEOUT * 2 + Duration::from_secs(2);

    for (how, cut) in [("reset", Proxy::reset as fn(&Proxy)), ("stall", Proxy::stall)] {
        cut(&proxy);
        let started = Instant::now();
        // A database that cannot be reached is a passing state: 503 10003, retry shortly.
        let resp = app.patch_seats(&json!([item("bob", false, false)])).await;
        assert_eq!(resp.headers()["retry-after"], "1", "{how}");
        assert_error(resp, 503, &[(10003, UNAVAILABLE, None)]).await;
        assert!(
            started.elapsed() < bound,
            "{how}: answered after {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let resp = app.request(Method::GET, "/readyz").send().await.unwrap();
        assert_error(resp, 503, &[(10003, "storage unavailable", None)]).await;
        assert!(
            started.elapsed() < bound,
            "{how}: /readyz after {:?}",
            started.elapsed()
        );

        proxy.restore();
        recovers(&app).await;
        let (status, body) = parts(app.patch_seats(&json!([item("bob", true, false)])).await).await;
        assert_eq!(status, 200, "{how}: {body}");
    }
}

/// Batches in flight when the connections are reset: every acknowledged one is stored, and
/// every batch is stored whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_batches_survive_and_none_is_half_applied() {
    let Some((app, proxy, direct)) = proxied_app("acknowledged_batches_survive", 40).await else {
        return;
    };
    let app = Arc::new(app);
    let mut batches = Vec::new();
    for k in 0..20 {
        let app = app.clone();
        batches.push(tokio::spawn(async move {
            let body = json!([
                item(&format!("f{}", 2 * k), true, false),
                item(&format!("f{}", 2 * k + 1), true, false)
            ]);
            app.patch_seats(&body).await.status().as_u16()
        }));
        if k == 8 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            proxy.reset();
        }
    }
    let mut codes = Vec::new();
    for b in batches {
        codes.push(b.await.unwrap());
    }
    proxy.restore();
    recovers(&app).await;
    assert!(codes.contains(&503), "the cut failed some batches: {codes:?}");
    let now = seats_server::Clock::now(&seats_server::SystemClock);
    let mut stored = 0;
    for (k, code) in codes.iter().enumerate() {
        let mut applied = Vec::new();
        for uid in [format!("f{}", 2 * k), format!("f{}", 2 * k + 1)] {
            let user = direct.user_by_seat_uid(ACCOUNT, &uid, now).await.unwrap().unwrap();
            applied.push(user.access_seat);
        }
        match code {
            200 => assert_eq!(applied, [true, true], "batch {k} was acknowledged"),
            // Unavailable: not applied, or (a COMMIT whose answer was lost) applied whole.
            503 => assert!(
                applied == [true, true] || applied == [false, false],
                "batch {k}: {applied:?}"
            ),
            other => panic!("batch {k}: {other}"),
        }
        stored += u64::from(applied == [true, true]);
    }
    // Alice and Carol held seats before; the maintained count agrees with what is stored.
    let account = direct.account(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(account.seats_in_use, 2 + 2 * stored, "{account:?}");
}
