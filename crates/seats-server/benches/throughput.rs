//! Prints how fast the real server is: seed loading and PATCH throughput over HTTP, with
//! `full` and `relaxed` durability. `cargo bench -p seats-server`.
//!
//! Numbers, not assertions: these machines are shared, so speed is read here, not tested.

use std::sync::Arc;
use std::time::{Duration, Instant};

use seats_server::{build_router, AppState, ServerConfig, SystemClock};
use seats_store::sqlite::SqliteStore;
use seats_store::{seed, Durability, Store};
use serde_json::json;

const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
const TOKEN: &str = "bench-token";

fn seed_doc(users: usize) -> Vec<u8> {
    let users: Vec<_> = (0..users)
        .map(|i| json!({"email": format!("user{i}@example.com"), "name": format!("User {i}"), "seat_uid": format!("seat-{i}"),
                        "access_seat": i % 3 == 0, "gateway_seat": i % 5 == 0, "active_device_count": if i % 5 == 0 { 1 } else { 0 }}))
        .collect();
    json!({"accounts": [{"id": ACCOUNT, "name": "bench", "seat_limit": users.len(), "users": users}],
           "tokens": [{"name": "bench", "value": TOKEN, "policies": [{"effect": "allow",
              "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]}]})
    .to_string()
    .into_bytes()
}

async fn bench_seed(users: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = seed_doc(users);
    let started = Instant::now();
    let parsed = seed::parse(&bytes).unwrap();
    let parse = started.elapsed();
    let store = SqliteStore::open(dir.path().join("seed.db"), Durability::Full).unwrap();
    let started = Instant::now();
    store
        .load_seed(parsed, seats_server::Clock::now(&SystemClock))
        .await
        .unwrap();
    let load = started.elapsed();
    println!(
        "seed: {users} users ({:.1} MiB JSON): parse+validate {:.2} s, load {:.2} s",
        bytes.len() as f64 / 1048576.0,
        parse.as_secs_f64(),
        load.as_secs_f64()
    );
}

async fn bench_patch(durability: Durability, clients: usize, per_client: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db"), durability).unwrap());
    store
        .load_seed(
            seed::parse(&seed_doc(10_000)).unwrap(),
            seats_server::Clock::now(&SystemClock),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = build_router(AppState::new(store, Arc::new(SystemClock), ServerConfig::default()));
    tokio::spawn(seats_server::serve(listener, app, std::future::pending()));
    let url = format!("http://{addr}/client/v4/accounts/{ACCOUNT}/access/seats");

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                // Each request really changes a seat, so every one commits.
                let uid = format!("seat-{}", (c * per_client + i) % 10_000);
                let body = json!([{"access_seat": i % 2 == 0, "gateway_seat": true, "seat_uid": uid}]);
                let t = Instant::now();
                let resp = client.patch(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "PATCH ({durability:?} durability, {clients} clients): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} requests)",
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        all.len()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        bench_seed(100_000).await;
        bench_patch(Durability::Full, 1, 300).await;
        bench_patch(Durability::Full, 32, 100).await;
        bench_patch(Durability::Relaxed, 32, 100).await;
    });
}
