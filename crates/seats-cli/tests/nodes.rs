//! Several real `seats serve` processes on one PostgreSQL database behave as one service.
//! Each test has a schema of its own on `SEATS_TEST_POSTGRES_URL`; without the variable
//! they say so and skip.

mod common;

use std::time::{Duration, Instant};

use reqwest::Method;
use seats_store::postgres::testing::TestDatabase;
use serde_json::{json, Value};

const OPERATOR_KEY: &str = "nodes-operator-key-0123456789abcdef";
const ACCOUNT: &str = common::ACCOUNT;
const TOKEN: &str = common::TOKEN;

struct Cluster {
    /// Each node's base URL.
    bases: Vec<String>,
    /// The processes, stopped when the cluster is dropped (a lock makes them shareable).
    _nodes: std::sync::Mutex<Vec<common::Server>>,
    http: reqwest::Client,
    // Dropped last: the schema outlives the nodes.
    _seed_dir: tempfile::TempDir,
    _db: TestDatabase,
}

/// Starts `n` nodes on a fresh schema, each given the same seed (the first loads it; the
/// others find the database holding data and serve it).
async fn cluster(test: &str, n: usize, seed: &Value, extra: &[&str]) -> Option<Cluster> {
    let db = TestDatabase::create(test).await?;
    let dir = tempfile::tempdir().unwrap();
    let seed_path = dir.path().join("seed.json");
    std::fs::write(&seed_path, seed.to_string()).unwrap();
    let url = db.url();
    let mut args = vec![
        "--database",
        &url,
        "--seed",
        seed_path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--pool-size",
        "4",
    ];
    args.extend_from_slice(extra);
    let nodes: Vec<common::Server> = (0..n)
        .map(|_| common::start(&args, &[("SEATS_OPERATOR_KEY", OPERATOR_KEY)]))
        .collect();
    Some(Cluster {
        bases: nodes.iter().map(|n| n.base.clone()).collect(),
        _nodes: std::sync::Mutex::new(nodes),
        http: common::http(),
        _seed_dir: dir,
        _db: db,
    })
}

impl Cluster {
    async fn send(&self, node: usize, method: Method, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.bases[node % self.bases.len()]))
            .bearer_auth(bearer);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn operator(&self, node: usize, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(node, method, &format!("/_seats/v1{path}"), OPERATOR_KEY, body)
            .await
    }

    async fn patch_seats(&self, node: usize, token: &str, body: Value) -> u16 {
        self.send(
            node,
            Method::PATCH,
            &format!("/client/v4/accounts/{ACCOUNT}/access/seats"),
            token,
            Some(body),
        )
        .await
        .0
    }

    /// The account's audit log, oldest first, as one node serves it.
    async fn audit(&self, node: usize) -> Vec<Value> {
        let (status, body) = self
            .operator(
                node,
                Method::GET,
                &format!("/accounts/{ACCOUNT}/audit?per_page=1000"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut events = body["result"].as_array().unwrap().clone();
        events.reverse();
        events
    }
}

fn item(uid: &str, access: bool, gateway: bool) -> Value {
    json!({"seat_uid": uid, "access_seat": access, "gateway_seat": gateway})
}

/// An account of `limit` seats with `users` users `s0..`, the first `seated` holding a Gateway seat.
fn seed(limit: u64, users: usize, seated: usize) -> Value {
    let users: Vec<Value> = (0..users)
        .map(|i| json!({"email": format!("s{i}@x.com"), "seat_uid": format!("s{i}"), "gateway_seat": i < seated}))
        .collect();
    json!({
        "accounts": [{"id": ACCOUNT, "name": "Nodes", "seat_limit": limit, "users": users,
                      "organization": {"name": "n", "auth_domain": "n.example",
                                       "user_seat_expiration_inactive_time": "730h"}}],
        "tokens": [{"id": "t", "name": "t", "value": TOKEN, "policies": [{"effect": "allow",
            "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"},
            "permission_groups": [{"name": "Zero Trust: Seats Write"},
                                  {"name": "Access: Audit Logs Read"}]}]}]
    })
}

/// Logins, PATCHes and a limit change spread over two nodes at once. Replaying the one audit
/// log both nodes serve, no request ever took seats in use above the limit in force, and
/// the replay ends at the stored count.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seat_limit_holds_across_nodes_under_mixed_load() {
    let Some(c) = cluster("the_seat_limit_holds_across_nodes", 2, &seed(20, 30, 10), &[]).await else {
        return;
    };
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for i in 0..60usize {
        let cluster = c.clone();
        tasks.push(tokio::spawn(async move {
            let c = cluster;
            let node = i % 2;
            match i % 4 {
                0 | 1 => {
                    let body = json!({"email": format!("m{i}@x.com"), "via": "access"});
                    c.operator(node, Method::POST, &format!("/accounts/{ACCOUNT}/logins"), Some(body))
                        .await
                        .0
                }
                2 => {
                    let body = json!([
                        item(&format!("s{}", i % 10), false, false),
                        item(&format!("s{}", 10 + i % 20), true, true)
                    ]);
                    c.patch_seats(node, TOKEN, body).await
                }
                _ => {
                    c.patch_seats(node, TOKEN, json!([item(&format!("s{}", 10 + i % 20), false, true)]))
                        .await
                }
            }
        }));
        if i == 30 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                c.operator(
                    1,
                    Method::PATCH,
                    &format!("/accounts/{ACCOUNT}"),
                    Some(json!({"seat_limit": 12})),
                )
                .await
                .0
            }));
        }
    }
    let mut refused = 0;
    for t in tasks {
        let code = t.await.unwrap();
        assert!(code == 200 || code == 409, "{code}");
        refused += usize::from(code == 409);
    }
    assert!(refused > 0, "the load reached the limit");

    let events = c.audit(0).await;
    assert_eq!(events, c.audit(1).await, "both nodes serve one audit log, in one order");
    let holds = |v: &Value| v["access_seat"] == true || v["gateway_seat"] == true;
    let (mut limit, mut used) = (20i64, 10i64);
    // A request's seat events share its time and actor, and one request that moves seats
    // holds the account's row lock from its first change to its commit.
    let mut groups: Vec<Vec<&Value>> = Vec::new();
    for e in &events {
        match groups.last_mut() {
            Some(g) if g[0]["at"] == e["at"] && g[0]["actor"] == e["actor"] => g.push(e),
            _ => groups.push(vec![e]),
        }
    }
    for group in groups {
        let mut delta = 0i64;
        for e in &group {
            match e["action"].as_str().unwrap() {
                "account.update" => limit = e["after"]["seat_limit"].as_i64().unwrap(),
                "seat.grant" | "seat.update" | "seat.remove" => {
                    delta += i64::from(holds(&e["after"])) - i64::from(holds(&e["before"]))
                }
                _ => {}
            }
        }
        used += delta;
        if delta > 0 {
            assert!(
                used <= limit,
                "request at event {} took seats to {used} of {limit}",
                group[0]["id"]
            );
        }
    }
    for node in 0..2 {
        let (_, account) = c
            .operator(node, Method::GET, &format!("/accounts/{ACCOUNT}"), None)
            .await;
        assert_eq!(
            account["result"]["seats_in_use"].as_i64(),
            Some(used),
            "node {node}: {account}"
        );
        assert_eq!(account["result"]["seat_limit"].as_i64(), Some(12));
    }
}

/// A batch is atomic across nodes: of two batches racing for the last seats through
/// different nodes, each applies whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_racing_on_two_nodes_apply_whole_or_not_at_all() {
    let Some(c) = cluster("batches_racing_on_two_nodes", 2, &seed(13, 30, 10), &[]).await else {
        return;
    };
    let c = std::sync::Arc::new(c);
    // Each batch takes three seats; three are free: exactly one of them fits.
    let batches = [["s10", "s11", "s12"], ["s13", "s14", "s15"]];
    let mut tasks = Vec::new();
    for (node, uids) in batches.iter().enumerate() {
        let c = c.clone();
        let body = json!(uids.iter().map(|u| item(u, true, false)).collect::<Vec<_>>());
        tasks.push(tokio::spawn(async move { c.patch_seats(node, TOKEN, body).await }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes, [200, 409]);
    let (_, users) = c
        .send(
            0,
            Method::GET,
            &format!("/client/v4/accounts/{ACCOUNT}/access/users?per_page=100"),
            TOKEN,
            None,
        )
        .await;
    assert_eq!(users["success"], true, "{users}");
    let seated: Vec<&str> = users["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["access_seat"] == true || u["gateway_seat"] == true)
        .map(|u| u["seat_uid"].as_str().unwrap())
        .collect();
    assert_eq!(seated.len(), 13, "{seated:?}");
    let winner = if seated.contains(&"s10") { 0 } else { 1 };
    for uid in batches[winner] {
        assert!(seated.contains(&uid), "the whole winning batch applied: {seated:?}");
    }
    for uid in batches[1 - winner] {
        assert!(
            !seated.contains(&uid),
            "nothing of the losing batch applied: {seated:?}"
        );
    }
}

/// A token disabled, or deleted, through one node is refused by the other within the bound
/// docs/postgres.md states (one second).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_changed_on_one_node_is_refused_by_the_other_within_a_second() {
    let Some(c) = cluster("a_token_changed_on_one_node", 2, &seed(20, 5, 0), &[]).await else {
        return;
    };
    let bound = seats_store::credentials::RECHECK_AFTER;
    let body = json!([item("s0", false, true)]);
    assert_eq!(c.patch_seats(1, TOKEN, body.clone()).await, 200);

    async fn refused_within(c: &Cluster, body: &Value, bound: Duration) -> Duration {
        let changed = Instant::now();
        loop {
            let code = c.patch_seats(1, TOKEN, body.clone()).await;
            if code != 200 {
                assert!(code == 401 || code == 403, "{code}");
                return changed.elapsed();
            }
            assert!(
                changed.elapsed() < bound,
                "node 1 still accepts the token after {bound:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    let (status, _) = c
        .operator(0, Method::PATCH, "/tokens/t", Some(json!({"status": "disabled"})))
        .await;
    assert_eq!(status, 200);
    let took = refused_within(&c, &body, bound).await;
    eprintln!("disabled token refused by the other node after {took:?}");

    let (status, _) = c
        .operator(0, Method::PATCH, "/tokens/t", Some(json!({"status": "active"})))
        .await;
    assert_eq!(status, 200);
    let enabled = Instant::now();
    while c.patch_seats(1, TOKEN, body.clone()).await != 200 {
        assert!(enabled.elapsed() < bound, "node 1 never took the token back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let (status, _) = c.operator(0, Method::DELETE, "/tokens/t", None).await;
    assert_eq!(status, 200);
    refused_within(&c, &body, bound).await;
}

/// Both nodes fall due for the expiry sweep at the same moment: each stale seat is freed, and
/// audited, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_expiry_sweep_frees_and_audits_each_seat_once_across_nodes() {
    let Some(c) = cluster("the_expiry_sweep_once", 2, &seed(20, 8, 6), &["--manual-clock"]).await else {
        return;
    };
    // Both clocks jump past the 730 h window at once; each node's jump runs the sweep due.
    let jumps: Vec<_> = (0..2)
        .map(|node| c.operator(node, Method::POST, "/clock", Some(json!({"advance": "800h"}))))
        .collect();
    for (status, body) in futures::future::join_all(jumps).await {
        assert_eq!(status, 200, "{body}");
    }
    let events = c.audit(0).await;
    let mut expired: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "seat.expire")
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    expired.sort();
    assert_eq!(expired, ["s0", "s1", "s2", "s3", "s4", "s5"]);
    let (_, account) = c.operator(1, Method::GET, &format!("/accounts/{ACCOUNT}"), None).await;
    assert_eq!(account["result"]["seats_in_use"], 0);
}

/// One rate limit for the cluster (docs/postgres.md, "One rate limit for the cluster"): three
/// nodes under uneven load (6 : 3 : 1 of the requests) admit one token's budget once in all,
/// not once per node, and then refuse it with 429 971 and `Retry-After` on every node; a
/// client address's failed authentications are likewise counted once across the nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rate_limit_holds_across_nodes_under_uneven_load() {
    const BUDGET: u64 = 300;
    const FAILURES: u64 = 20;
    let limit = format!("{BUDGET}/5m");
    let failed = format!("{FAILURES}/5m");
    let Some(c) = cluster(
        "the_rate_limit_holds_across_nodes",
        3,
        &seed(1000, 10, 0),
        &["--rate-limit", &limit, "--failed-auth-limit", &failed],
    )
    .await
    else {
        return;
    };
    let c = std::sync::Arc::new(c);
    let path = format!("/client/v4/accounts/{ACCOUNT}/access/users?per_page=1");
    // Concurrent clients, each sending to nodes 0,0,0,0,0,0,1,1,1,2 in turn, until every
    // node has refused several times in a row.
    let tasks: Vec<_> = (0..8)
        .map(|client| {
            let (c, path) = (c.clone(), path.clone());
            tokio::spawn(async move {
                const SHARE: [usize; 10] = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2];
                let (mut admitted, mut refused_in_a_row) = ([0u64; 3], [0u32; 3]);
                let mut i = client;
                while refused_in_a_row.iter().any(|r| *r < 3) {
                    let node = SHARE[i % SHARE.len()];
                    i += 1;
                    let resp = c
                        .http
                        .get(format!("{}{path}", c.bases[node]))
                        .bearer_auth(TOKEN)
                        .send()
                        .await
                        .unwrap();
                    match resp.status().as_u16() {
                        200 => {
                            admitted[node] += 1;
                            refused_in_a_row[node] = 0;
                        }
                        429 => {
                            let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                            assert!((1..=300).contains(&retry), "{retry}");
                            let body: Value = resp.json().await.unwrap();
                            assert_eq!(body["errors"][0]["code"], 971, "{body}");
                            refused_in_a_row[node] += 1;
                        }
                        other => panic!("{other}: {}", resp.text().await.unwrap()),
                    }
                    assert!(i < 10_000, "the cluster never refused");
                }
                admitted
            })
        })
        .collect();
    let mut per_node = [0u64; 3];
    for t in tasks {
        for (n, a) in t.await.unwrap().iter().enumerate() {
            per_node[n] += a;
        }
    }
    let admitted: u64 = per_node.iter().sum();
    eprintln!("rate limit {BUDGET}/5m on 3 nodes: admitted {admitted} ({per_node:?} per node)");
    // Never over the budget; under it by at most what other nodes held unspent when the
    // last ones were refused (each slice ≤ 1/8 of what was left, at most 1/20 of the budget).
    assert!(
        admitted <= BUDGET,
        "the cluster admitted {admitted} > {BUDGET}: {per_node:?}"
    );
    assert!(
        admitted >= BUDGET * 95 / 100,
        "the cluster admitted only {admitted}: {per_node:?}"
    );
    assert!(per_node.iter().all(|n| *n > 0), "{per_node:?}");

    // Failed authentications of one address, spread over the nodes: refused after FAILURES
    // in all (each node refuses once it learns the budget is spent).
    let mut wrong = 0;
    let mut refused = [false; 3];
    let mut i = 0;
    while refused.iter().any(|r| !r) {
        let node = i % 3;
        i += 1;
        let (status, body) = c
            .send(
                node,
                Method::GET,
                &path,
                "wrong-token-0123456789abcdef0123456789ab",
                None,
            )
            .await;
        match status {
            403 => {
                assert_eq!(body["errors"][0]["code"], 9109, "{body}");
                wrong += 1;
            }
            429 => refused[node] = true,
            other => panic!("{other}: {body}"),
        }
        assert!(i < 1000, "failures were never refused");
    }
    eprintln!("failed authentications {FAILURES}/5m on 3 nodes: {wrong} answered before 429");
    assert!(wrong <= FAILURES, "{wrong} failures answered > {FAILURES}");
    assert!(wrong >= FAILURES * 95 / 100, "only {wrong} failures answered");
}
