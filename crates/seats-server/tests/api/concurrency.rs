//! Many concurrent PATCHes: no update is lost and the seat limit is never exceeded.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::helpers::*;

fn seed(limit: u64, users: usize, seated: usize) -> Value {
    let users: Vec<Value> = (0..users)
        .map(|i| json!({"email": format!("u{i}@x.com"), "seat_uid": format!("s{i}"), "access_seat": i < seated}))
        .collect();
    json!({"accounts": [{"id": ACCOUNT, "name": "x", "seat_limit": limit, "users": users}],
           "tokens": test_seed()["tokens"].clone()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_batches_lose_no_update() {
    on_each_backend(|| async {
        let app = spawn_app(&seed(100, 10, 0)).await;
        let mut tasks = Vec::new();
        for r in 0..60usize {
            // Each request touches three overlapping seats with its own flag pattern.
            let items: Vec<Value> = (0..3)
                .map(|k| {
                    item(
                        &format!("s{}", (r + k * 3) % 10),
                        (r + k) % 2 == 0,
                        (r / 2 + k) % 2 == 0,
                    )
                })
                .collect();
            let client = app.client.clone();
            let url = app.url(&TestApp::seats_path(ACCOUNT));
            tasks.push(tokio::spawn(async move {
                let resp = client.patch(url).bearer_auth(TOKEN).json(&items).send().await.unwrap();
                resp.status().as_u16()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        // Replaying the audit log, oldest first, must lead from the seed state to the final state
        // with each event starting where the previous one ended: a lost update would break the chain.
        let (mut events, _) = app.store.audit_events(ACCOUNT, 1, 10_000).await.unwrap();
        events.reverse();
        let mut state: HashMap<String, Value> = (0..10)
            .map(|i| (format!("s{i}"), json!({"access_seat": false, "gateway_seat": false})))
            .collect();
        for e in &events {
            assert_eq!(
                Some(&state[&e.subject]),
                e.before.as_ref(),
                "event {} starts where the last ended",
                e.seq
            );
            state.insert(e.subject.clone(), e.after.clone().unwrap());
        }
        for i in 0..10 {
            let uid = format!("s{i}");
            let u = app.user(&uid).await;
            assert_eq!(
                state[&uid],
                json!({"access_seat": u.access_seat, "gateway_seat": u.gateway_seat}),
                "{uid}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_grants_near_the_limit_never_exceed_it() {
    on_each_backend(|| async {
        // 10 seats, 8 in use: of 30 concurrent false -> true requests, exactly 2 succeed.
        let app = spawn_app(&seed(10, 42, 8)).await;
        let mut tasks = Vec::new();
        for i in 8..38 {
            let client = app.client.clone();
            let url = app.url(&TestApp::seats_path(ACCOUNT));
            let body = json!([item(&format!("s{i}"), i % 2 == 0, true)]);
            tasks.push(tokio::spawn(async move {
                let resp = client.patch(url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
                resp.status().as_u16()
            }));
        }
        // Meanwhile, batches that free one seat and take another (distinct) one keep usage level.
        let mut swaps = Vec::new();
        for i in 0..4 {
            let client = app.client.clone();
            let url = app.url(&TestApp::seats_path(ACCOUNT));
            let body = json!([
                item(&format!("s{i}"), false, false),
                item(&format!("s{}", 38 + i), true, false)
            ]);
            swaps.push(tokio::spawn(async move {
                client
                    .patch(url)
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut codes = HashMap::new();
        for t in tasks {
            *codes.entry(t.await.unwrap()).or_insert(0) += 1;
        }
        for t in swaps {
            assert_eq!(t.await.unwrap(), 200, "a swap never raises usage");
        }
        assert_eq!(codes.get(&200), Some(&2), "{codes:?}");
        assert_eq!(codes.get(&409), Some(&28), "{codes:?}");
        let mut holding = 0;
        for i in 0..42 {
            let u = app.user(&format!("s{i}")).await;
            holding += usize::from(u.access_seat || u.gateway_seat);
        }
        assert_eq!(holding, 10, "seats in use with a limit of 10");
    })
    .await;
}

/// 50 concurrent logins of new users into an account with 10 free seats: exactly 10 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_logins_into_ten_free_seats() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&seed(15, 5, 5)).operator().start().await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let client = app.client.clone();
            let url = app.url(&format!("/_seats/v1/accounts/{ACCOUNT}/logins"));
            tasks.push(tokio::spawn(async move {
                let body = json!({"email": format!("new{i}@x.com"), "via": if i % 2 == 0 { "access" } else { "gateway" }, "device_id": "d"});
                client.post(url).bearer_auth(OPERATOR_KEY).json(&body).send().await.unwrap().status().as_u16()
            }));
        }
        let mut codes = HashMap::new();
        for t in tasks {
            *codes.entry(t.await.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(codes.get(&200), Some(&10), "{codes:?}");
        assert_eq!(codes.get(&409), Some(&40), "{codes:?}");
        let account = app.store.account(ACCOUNT).await.unwrap().unwrap();
        assert_eq!(account.seats_in_use, 15);
        // Every refused user exists, holding no seat.
        let (users, total) = app
            .store
            .list_users(
                ACCOUNT,
                Default::default(),
                1,
                100,
                seats_server::Clock::now(&seats_server::SystemClock),
            )
            .await
            .unwrap();
        assert_eq!(total, 55);
        assert_eq!(users.iter().filter(|u| u.access_seat || u.gateway_seat).count(), 15);
    })
    .await;
}

/// Logins, PATCHes and a limit change all at once: replaying the audit log, no grant ever
/// took seats in use above the limit in force at that moment, and lowering the limit removed
/// nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_logins_patches_and_limit_changes_keep_the_invariant() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&seed(20, 30, 10)).operator().start().await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let client = app.client.clone();
            let base = app.url("");
            tasks.push(tokio::spawn(async move {
                let resp = match i % 4 {
                    // New users logging in.
                    0 | 1 => {
                        client
                            .post(format!("{base}/_seats/v1/accounts/{ACCOUNT}/logins"))
                            .bearer_auth(OPERATOR_KEY)
                            .json(&json!({"email": format!("m{i}@x.com"), "via": "access"}))
                            .send()
                            .await
                    }
                    // Admins freeing one seeded seat and granting another.
                    2 => {
                        client
                            .patch(format!("{base}/client/v4/accounts/{ACCOUNT}/access/seats"))
                            .bearer_auth(TOKEN)
                            .json(&json!([
                                item(&format!("s{}", i % 10), false, false),
                                item(&format!("s{}", 10 + i % 20), true, true)
                            ]))
                            .send()
                            .await
                    }
                    // Grants alone.
                    _ => {
                        client
                            .patch(format!("{base}/client/v4/accounts/{ACCOUNT}/access/seats"))
                            .bearer_auth(TOKEN)
                            .json(&json!([item(&format!("s{}", 10 + i % 20), false, true)]))
                            .send()
                            .await
                    }
                };
                resp.unwrap().status().as_u16()
            }));
            if i == 20 {
                let client = app.client.clone();
                let url = app.url(&format!("/_seats/v1/accounts/{ACCOUNT}"));
                tasks.push(tokio::spawn(async move {
                    client
                        .patch(url)
                        .bearer_auth(OPERATOR_KEY)
                        .json(&json!({"seat_limit": 12}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                }));
            }
        }
        for t in tasks {
            let code = t.await.unwrap();
            assert!(code == 200 || code == 409, "{code}");
        }
        let (mut events, _) = app.store.audit_events(ACCOUNT, 1, 10_000).await.unwrap();
        events.reverse();
        let mut limit = 20i64;
        let mut used = 10i64;
        let holds = |v: &Option<Value>| {
            v.as_ref()
                .is_some_and(|v| v["access_seat"] == true || v["gateway_seat"] == true)
        };
        // One request's events are consecutive and share time and actor (one writer runs each
        // transaction whole). The rule is per request: it may not raise seats in use above the
        // limit in force; a swap that keeps usage level is fine even over the limit.
        let mut requests: Vec<Vec<&seats_store::AuditRecord>> = Vec::new();
        for e in &events {
            match requests.last_mut() {
                Some(group) if group[0].at == e.at && group[0].actor == e.actor => group.push(e),
                _ => requests.push(vec![e]),
            }
        }
        for group in requests {
            let mut delta = 0i64;
            for e in &group {
                match e.action.as_str() {
                    "account.update" => limit = e.after.as_ref().unwrap()["seat_limit"].as_i64().unwrap(),
                    "seat.grant" | "seat.update" | "seat.remove" => {
                        delta += i64::from(holds(&e.after)) - i64::from(holds(&e.before));
                    }
                    _ => {}
                }
            }
            used += delta;
            if delta > 0 {
                assert!(
                    used <= limit,
                    "request ending at event {} took seats to {used} of {limit}",
                    group[0].seq
                );
            }
        }
        let account = app.store.account(ACCOUNT).await.unwrap().unwrap();
        assert_eq!(account.seats_in_use as i64, used, "the replay matches the final state");
        assert_eq!(account.seat_limit, 12);
    })
    .await;
}
