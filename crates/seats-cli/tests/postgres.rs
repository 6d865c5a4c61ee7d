//! `seats serve` on PostgreSQL as operators run it (docs/postgres.md): a connection string it
//! cannot use stops start-up with the cause named; the database password reaches no log
//! line, `/metrics` or the journal; and a failover to a promoted standby loses no
//! acknowledged write (docs/postgres.md, "Failover").

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seats_store::postgres::cluster::Cluster;
use seats_store::postgres::testing::TestDatabase;
use serde_json::{json, Value};

const OPERATOR_KEY: &str = "postgres-operator-key-0123456789abcdef";
const PASSWORD: &str = "pw-never-shown-7f3a9c";

/// `seats serve` with `database` given through `SEATS_DATABASE`: it must exit 1 before
/// binding the port; returns what it printed on stderr.
fn refused(database: &str, envs: &[(&str, &str)]) -> String {
    let mut all = vec![("SEATS_DATABASE", database)];
    all.extend_from_slice(envs);
    let out = common::run_with(&["serve", "--listen", "127.0.0.1:0"], &all, None);
    assert_eq!(out.code, Some(1), "{database}: {}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("listening"), "{database}: {}", out.stdout);
    assert!(!out.stderr.contains(PASSWORD), "the password leaked: {}", out.stderr);
    out.stderr
}

#[test]
fn a_connection_string_it_cannot_use_stops_start_up_and_names_the_cause() {
    // Nothing here reaches a server: each problem is found first. (Port 9 on loopback takes
    // no connection, should one be tried.)
    let base = format!("postgres://seats:{PASSWORD}@127.0.0.1:9/seats");
    let err = refused(&format!("{base}?sslmode=maybe"), &[]);
    assert!(
        err.contains("invalid sslmode: `maybe` (use disable, allow, prefer, require, verify-ca or verify-full)"),
        "{err}"
    );
    let err = refused(&format!("{base}?colour=blue"), &[]);
    assert!(
        err.contains("invalid PostgreSQL connection string: unknown option `colour`"),
        "{err}"
    );
    let err = refused(
        &format!("{base}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
        &[],
    );
    assert!(err.contains("sslrootcert /nonexistent/ca.pem: cannot read it"), "{err}");
    let err = refused(&base, &[("PGSSLMODE", "sometimes")]);
    assert!(err.contains("invalid sslmode (from PGSSLMODE): `sometimes`"), "{err}");
    let err = refused(
        &format!(
            "host=127.0.0.1 port=9 user=seats password={PASSWORD} sslmode=verify-ca sslrootcert=/nonexistent/ca.pem"
        ),
        &[],
    );
    assert!(err.contains("sslrootcert /nonexistent/ca.pem: cannot read it"), "{err}");
    // Nothing listens: a clear error within the connect timeout, not a hang.
    let err = refused(&format!("{base}?connect_timeout=2"), &[]);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
}

/// The password of the database URL is in no log line (at debug level), no answer, no
/// `/metrics` and no journal entry, while the server works on that database.
#[test]
fn the_database_password_reaches_no_log_metrics_or_journal() {
    let Some(db) = common::block_on(TestDatabase::create("database_password")) else {
        return;
    };
    // The tests' server trusts 127.0.0.1, so a password is accepted and ignored.
    let url = db
        .url()
        .replacen("postgres://postgres@", &format!("postgres://postgres:{PASSWORD}@"), 1);
    assert!(url.contains(PASSWORD), "{url}");
    let server = common::start(
        &["--demo", "--journal-bodies", "--listen", "127.0.0.1:0"],
        &[
            ("SEATS_DATABASE", url.as_str()),
            ("SEATS_OPERATOR_KEY", OPERATOR_KEY),
            ("RUST_LOG", "debug"),
        ],
    );
    let (status, body) = server.patch(&json!([{"seat_uid": common::SEAT, "access_seat": false, "gateway_seat": true}]));
    assert_eq!(status, 200, "{body}");
    let texts = common::block_on(async {
        let http = common::http();
        let mut texts = Vec::new();
        for (path, key) in [
            ("/metrics", None),
            ("/_seats/v1/journal", Some(OPERATOR_KEY)),
            ("/readyz", None),
        ] {
            let mut req = http.get(format!("{}{path}", server.base));
            if let Some(key) = key {
                req = req.header("Authorization", format!("Bearer {key}"));
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            texts.push((path, resp.text().await.unwrap()));
        }
        texts
    });
    for (path, text) in &texts {
        assert!(!text.is_empty(), "{path}");
        assert!(!text.contains(PASSWORD), "{path} shows the password: {text}");
    }
    let (code, logs) = server.terminate();
    assert_eq!(code, Some(0), "{logs}");
    assert!(logs.contains("connected to PostgreSQL"), "{logs}");
    assert!(!logs.contains(PASSWORD), "a log line shows the password: {logs}");
}

/// Seats of users `w0`..`w{n}`, none held; the token may write seats.
fn seed(users: usize) -> Value {
    let users: Vec<Value> = (0..users)
        .map(|i| json!({"email": format!("w{i}@x.com"), "seat_uid": format!("w{i}")}))
        .collect();
    json!({
        "accounts": [{"id": common::ACCOUNT, "name": "Failover", "seat_limit": 100_000, "users": users}],
        "tokens": [{"id": "t", "name": "t", "value": common::TOKEN, "policies": [{"effect": "allow",
            "resources": {format!("com.cloudflare.api.account.{}", common::ACCOUNT): "*"},
            "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]}]
    })
}

/// One write a node answered: which user it gave a seat, and how.
#[derive(Debug, Clone)]
struct Answer {
    node: usize,
    user: usize,
    status: u16,
    body: Value,
    retry_after: Option<String>,
    sent: Instant,
    took: Duration,
}

/// The answer of `GET /readyz` (0 when none came).
async fn ready(http: &reqwest::Client, base: &str) -> u16 {
    match http
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(resp) => resp.status().as_u16(),
        Err(_) => 0,
    }
}

/// A primary with a synchronous streaming standby; two nodes write through a URL naming both
/// with `target_session_attrs=read-write`. The primary is killed and the standby promoted:
/// every write a node acknowledged is on the new primary, every refusal in between is a
/// 503 10003 with `Retry-After` answered in bounded time, `/readyz` says 503 meanwhile, and
/// both nodes write again within 10 s of the promotion, without a restart. A node started
/// meanwhile on the standby alone refuses to start.
#[test]
fn failover_to_a_promoted_standby_loses_no_acknowledged_write() {
    let test = "failover_to_a_promoted_standby_loses_no_acknowledged_write";
    let Some(primary) = Cluster::init(test) else {
        return;
    };
    primary.start();
    let Some(standby) = primary.standby(test, true) else {
        return;
    };
    standby.start();
    // The standby streams, and commits wait for it.
    common::block_on(async {
        let (client, connection) = tokio_postgres::connect(&primary.url(""), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let started = Instant::now();
        loop {
            let rows = client
                .query("SELECT sync_state FROM pg_stat_replication", &[])
                .await
                .unwrap();
            if rows.first().map(|r| r.get::<_, String>(0)).as_deref() == Some("sync") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the standby never became synchronous"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let seed_path = dir.path().join("seed.json");
    const USERS: usize = 20_000;
    std::fs::write(&seed_path, seed(USERS).to_string()).unwrap();
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&connect_timeout=2",
        primary.port, standby.port
    );
    let args = [
        "--database",
        &url,
        "--seed",
        seed_path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--pool-size",
        "4",
        "--statement-timeout",
        "2s",
    ];
    let nodes: Vec<common::Server> = (0..2).map(|_| common::start(&args, &[])).collect();
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let next_user = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Two writers per node, each PATCH giving one user (never the same twice) an Access seat.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, answers, stop, next_user) =
                (bases[w % 2].clone(), answers.clone(), stop.clone(), next_user.clone());
            std::thread::spawn(move || {
                common::block_on(async move {
                    let http = common::http();
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let user = next_user.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        assert!(user < USERS, "the seed ran out of users");
                        let sent = Instant::now();
                        let resp = http
                            .patch(format!("{base}/client/v4/accounts/{}/access/seats", common::ACCOUNT))
                            .header("Authorization", format!("Bearer {}", common::TOKEN))
                            .json(
                                &json!([{"seat_uid": format!("w{user}"), "access_seat": true, "gateway_seat": false}]),
                            )
                            .send()
                            .await
                            .expect("every request is answered (the client's timeout is a minute)");
                        let status = resp.status().as_u16();
                        let retry_after = resp
                            .headers()
                            .get("retry-after")
                            .map(|v| v.to_str().unwrap().to_owned());
                        let body: Value = resp.json().await.unwrap_or(Value::Null);
                        answers.lock().unwrap().push(Answer {
                            node: w % 2,
                            user,
                            status,
                            body,
                            retry_after,
                            sent,
                            took: sent.elapsed(),
                        });
                        if status != 200 {
                            // A client backing off as Retry-After asks, briefly.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                })
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(2));
    let http = common::http();
    let before_kill = answers.lock().unwrap().len();
    assert!(before_kill > 0, "no write was answered before the kill");
    let killed = Instant::now();
    primary.kill();
    // Between the kill and the promotion: refusals, and readiness says so.
    std::thread::sleep(Duration::from_secs(2));
    for base in &bases {
        assert_eq!(
            common::block_on(ready(&http, base)),
            503,
            "{base} is ready with no primary"
        );
    }
    // A node started now, on the standby alone, refuses to start.
    let err = {
        let standby_only = standby.url("?target_session_attrs=read-write");
        let out = common::run_with(
            &["serve", "--database", &standby_only, "--listen", "127.0.0.1:0"],
            &[],
            None,
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        out.stderr
    };
    assert!(err.contains("database does not allow writes"), "{err}");
    assert!(err.contains("no server named takes writes"), "{err}");

    standby.promote();
    let promoted = Instant::now();
    // Both nodes write again, and say they are ready, within 10 s of the promotion.
    let mut recovered = [None::<Duration>; 2];
    while recovered.iter().any(Option::is_none) {
        assert!(
            promoted.elapsed() < Duration::from_secs(10),
            "not every node wrote again within 10 s of the promotion: {recovered:?}"
        );
        for a in answers.lock().unwrap().iter() {
            if a.status == 200 && a.sent > promoted && recovered[a.node].is_none() {
                recovered[a.node] = Some(a.sent.duration_since(promoted) + a.took);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for base in &bases {
        assert_eq!(common::block_on(ready(&http, base)), 200, "{base}");
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.join().expect("a writer failed");
    }
    let answers = answers.lock().unwrap().clone();

    // Every answer was a success or a Cloudflare envelope saying to retry, in bounded time.
    let mut refused = 0;
    for a in &answers {
        assert!(a.took < Duration::from_secs(10), "an answer took {:?}: {a:?}", a.took);
        match a.status {
            200 => assert_eq!(a.body["success"], true, "{a:?}"),
            503 => {
                refused += 1;
                assert_eq!(a.body["success"], false, "{a:?}");
                assert_eq!(a.body["errors"][0]["code"], 10003, "{a:?}");
                assert_eq!(
                    a.body["errors"][0]["message"],
                    "Service temporarily unavailable: the database cannot take requests now, retry shortly",
                    "{a:?}"
                );
                assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
                assert!(a.sent + a.took > killed, "a refusal before the kill: {a:?}");
            }
            other => panic!("answer {other}: {a:?}"),
        }
    }
    assert!(refused > 0, "the failover refused nothing: the kill was not seen");

    // Every acknowledged write is on the new primary.
    let held: std::collections::HashSet<usize> = common::block_on(async {
        let (client, connection) = tokio_postgres::connect(&standby.url(""), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query("SELECT seat_uid FROM users WHERE access_seat", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0)[1..].parse().unwrap())
            .collect()
    });
    let acknowledged: Vec<usize> = answers.iter().filter(|a| a.status == 200).map(|a| a.user).collect();
    let lost: Vec<&usize> = acknowledged.iter().filter(|u| !held.contains(u)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost in the failover: {lost:?}");
    eprintln!(
        "failover: {} writes acknowledged ({} before the kill), {refused} refused with 503 10003, 0 lost; \
         writes again {:?} / {:?} after the promotion",
        acknowledged.len(),
        before_kill,
        recovered[0].unwrap(),
        recovered[1].unwrap()
    );
    drop(nodes);
}
