//! PostgreSQL servers these tests make for themselves (docs/postgres.md): TLS against one
//! with `ssl = on`, certificates made for it and a `pg_hba.conf` that takes only TLS (a
//! client certificate for `certuser`), and one without TLS; each refusal is checked by the
//! message `PgStore::connect` gives, which is what `seats serve` prints before it exits. And
//! a primary that stops taking writes while another server named in the string does.

use std::time::Duration;

use seats_store::postgres::cluster::{Certificates, Cluster};
use seats_store::postgres::connect::Connection;
use seats_store::postgres::{PgOptions, PgStore};
use seats_store::MaintenanceStore;

fn options() -> PgOptions {
    PgOptions {
        pool_size: 2,
        connect_timeout: Duration::from_secs(5),
        ..PgOptions::default()
    }
}

async fn connect(url: &str) -> Result<PgStore, String> {
    PgStore::connect(url, options()).await.map_err(|e| e.to_string())
}

/// Whether the session `url` opens is encrypted, as the server sees it (`pg_stat_ssl`).
async fn encrypted(url: &str) -> bool {
    let c = Connection::parse(url).expect("a valid string");
    let (client, connection) = c.config.connect(c.tls).await.expect("connect");
    tokio::spawn(connection);
    client
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

#[tokio::test]
async fn tls_modes_against_a_server_that_takes_only_tls() {
    let Some(cluster) = Cluster::init("tls_modes_against_a_server_that_takes_only_tls") else {
        return;
    };
    let certs = Certificates::generate(cluster.dir());
    cluster.configure(&format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n",
        certs.server_cert.display(),
        certs.server_key.display(),
        certs.ca.display()
    ));
    cluster.hba(
        "local all all trust\n\
         hostssl all certuser 127.0.0.1/32 cert\n\
         hostssl all postgres 127.0.0.1/32 trust\n",
    );
    cluster.start();
    let port = cluster.port;
    // `localhost` is the name in the certificate; hostaddr keeps the traffic on 127.0.0.1.
    let named = |query: &str| format!("postgres://postgres@localhost:{port}/postgres?hostaddr=127.0.0.1&{query}");
    let ca = certs.ca.display().to_string();

    // verify-full with the right CA: connected, encrypted, and the store works.
    let url = named(&format!("sslmode=verify-full&sslrootcert={ca}"));
    let store = connect(&url).await.expect("verify-full with the right CA");
    store.ping().await.expect("the store answers over TLS");
    assert!(encrypted(&url).await);
    drop(store);
    let c = Connection::parse(&url).unwrap();
    let (client, connection) = c.config.connect(c.tls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute("CREATE ROLE certuser LOGIN").await.unwrap();

    // The default (prefer) is encrypted too, against a server that offers TLS.
    assert!(encrypted(&named("application_name=x")).await);

    // A CA that did not sign the server's certificate.
    let err = connect(&named(&format!(
        "sslmode=verify-full&sslrootcert={}",
        certs.other_ca.display()
    )))
    .await
    .expect_err("a wrong CA");
    assert!(
        err.starts_with("storage failure: cannot connect to PostgreSQL: "),
        "{err}"
    );
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(
        err.contains("the server's certificate is not signed by a CA in sslrootcert"),
        "{err}"
    );

    // A host name the certificate does not carry (it names localhost, not 127.0.0.1).
    let by_address = cluster.url(&format!("?sslmode=verify-full&sslrootcert={ca}"));
    let err = connect(&by_address).await.expect_err("a wrong host name");
    assert!(err.contains("does not name the host connected to"), "{err}");
    // verify-ca checks the chain only, and require checks nothing.
    connect(&cluster.url(&format!("?sslmode=verify-ca&sslrootcert={ca}")))
        .await
        .expect("verify-ca ignores the name");
    connect(&cluster.url("?sslmode=require")).await.expect("require");
    // require with a root certificate given is verify-ca (libpq's rule): the wrong CA fails.
    let err = connect(&cluster.url(&format!("?sslmode=require&sslrootcert={}", certs.other_ca.display())))
        .await
        .expect_err("require with a wrong root certificate");
    assert!(err.contains("UnknownIssuer"), "{err}");

    // pg_hba.conf takes only TLS: sslmode=disable is refused, and the message says why.
    let err = connect(&cluster.url("?sslmode=disable")).await.expect_err("disable");
    assert!(err.contains("no pg_hba.conf entry"), "{err}");
    assert!(err.contains("no encryption"), "{err}");
    assert!(
        err.contains("the server takes only TLS connections from here: sslmode=disable cannot connect"),
        "{err}"
    );

    // A client certificate: certuser is let in by it alone.
    let as_certuser = |query: &str| format!("postgres://certuser@localhost:{port}/postgres?hostaddr=127.0.0.1&{query}");
    let with_cert = as_certuser(&format!(
        "sslmode=verify-full&sslrootcert={ca}&sslcert={}&sslkey={}",
        certs.client_cert.display(),
        certs.client_key.display()
    ));
    let c = Connection::parse(&with_cert).unwrap();
    let (client, connection) = c.config.connect(c.tls).await.expect("certuser with its certificate");
    tokio::spawn(connection);
    let user: String = client.query_one("SELECT current_user", &[]).await.unwrap().get(0);
    assert_eq!(user, "certuser");
    let c = Connection::parse(&as_certuser(&format!("sslmode=verify-full&sslrootcert={ca}"))).unwrap();
    let Err(err) = c.config.connect(c.tls).await else {
        panic!("certuser connected without a certificate");
    };
    let err = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(err.contains("certificate"), "{err}");

    // An unreadable certificate file is named before any connection is tried.
    let err = connect(&named("sslmode=verify-full&sslrootcert=/nonexistent/ca.crt"))
        .await
        .expect_err("a missing file");
    assert!(err.contains("sslrootcert /nonexistent/ca.crt: cannot read it"), "{err}");
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails_at_start_up() {
    let Some(cluster) = Cluster::init("require_against_a_server_without_tls_fails_at_start_up") else {
        return;
    };
    cluster.configure("ssl = off\n");
    cluster.start();
    let err = connect(&cluster.url("?sslmode=require")).await.expect_err("require");
    assert!(err.contains("server does not support TLS"), "{err}");
    assert!(err.contains("sslmode requires TLS"), "{err}");
    // prefer (the default) falls back to plain TCP, as libpq does.
    connect(&cluster.url("")).await.expect("prefer");
    assert!(!encrypted(&cluster.url("")).await);
}

/// Two servers named in one string: the store writes to the first; when it turns read-only
/// (a demoted primary, here `default_transaction_read_only`), the write is refused as
/// unavailable (25006, not a fault), the store drops every connection it holds, and the
/// next write goes to the server that takes writes, without a restart.
#[tokio::test]
async fn a_primary_that_turns_read_only_is_left_for_the_one_that_takes_writes() {
    use seats_store::{AccountStore, Actor, NewAccount, StoreError};
    let test = "a_primary_that_turns_read_only";
    let (Some(a), Some(b)) = (Cluster::init(test), Cluster::init(test)) else {
        return;
    };
    a.start();
    b.start();
    // The second server gets the schema (a promoted standby would have it).
    drop(connect(&b.url("")).await.expect("connect to b"));
    let both = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
        a.port, b.port
    );
    let store = connect(&both).await.expect("connect");
    let now = seats_types::Timestamp::from_unix_micros(1_700_000_000_000_000).unwrap();
    let account = |n: u32| NewAccount {
        id: format!("{n:032x}"),
        name: format!("a{n}"),
        seat_limit: 5,
    };
    store
        .create_account(account(1), Actor::Operator, now)
        .await
        .expect("a write");
    let on = |cluster: &Cluster| {
        let url = cluster.url("");
        async move {
            let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            admin
                .batch_execute("ALTER SYSTEM SET default_transaction_read_only = on")
                .await
                .unwrap();
            admin.batch_execute("SELECT pg_reload_conf()").await.unwrap();
            // The setting reaches every backend at its next command.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let exists_on = |cluster: &Cluster, id: String| {
        let url = cluster.url("");
        async move {
            let (c, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            c.query_one("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)", &[&id])
                .await
                .unwrap()
                .get::<_, bool>(0)
        }
    };
    assert!(exists_on(&a, format!("{:032x}", 1)).await);
    on(&a).await;

    let err = store
        .create_account(account(2), Actor::Operator, now)
        .await
        .expect_err("a read-only server takes no write");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("25006"), "{err}");
    // The pooled connections to `a` are gone: the next ones find `b`.
    store.ping().await.expect("ready, on b");
    store
        .create_account(account(2), Actor::Operator, now)
        .await
        .expect("a write, on b");
    assert!(exists_on(&b, format!("{:032x}", 2)).await);
    assert!(!exists_on(&a, format!("{:032x}", 2)).await);
}
