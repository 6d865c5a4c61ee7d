//! `TestServer` as a test uses it: the demo data on a free port, the toolkit through its
//! methods, its own seed, isolation between servers, and a clean stop on drop.

use reqwest::{Method, StatusCode};
use seats_testing::{Error, TestServer, DEMO_ACCOUNT_ID};
use serde_json::{json, Value};

const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";
const EDIT: &str = "zero-trust-seats-update-a-user-seat";

async fn edit(seats: &TestServer, access: bool) -> reqwest::Response {
    reqwest::Client::new()
        .patch(format!(
            "{}/accounts/{}/access/seats",
            seats.api_base_url(),
            seats.account_id()
        ))
        .bearer_auth(seats.token())
        .json(&json!([{"seat_uid": SEAT, "access_seat": access, "gateway_seat": false}]))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn serves_the_demo_data_and_the_toolkit() {
    let seats = TestServer::start().await;
    assert!(seats.uri().starts_with("http://127.0.0.1:"));
    assert_eq!(seats.account_id(), DEMO_ACCOUNT_ID);
    let resp = edit(&seats, false).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The journal saw it.
    let patches = seats.journal(&format!("?operation_id={EDIT}")).await.unwrap();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0]["status"], 200);

    // A fault rule answers the next edit 429, then lets them through.
    let rule = seats
        .add_fault(json!({"match": {"operation_id": EDIT}, "action": {"status": 429}, "times": 1}))
        .await
        .unwrap();
    assert!(rule["id"].is_string(), "{rule}");
    assert_eq!(edit(&seats, true).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(edit(&seats, true).await.status(), StatusCode::OK);

    // Reset: back to the seed, no journal.
    seats.reset().await.unwrap();
    assert_eq!(seats.journal("").await.unwrap(), Vec::<Value>::new());
    let users = seats
        .operator(Method::GET, &format!("/accounts/{DEMO_ACCOUNT_ID}"), None)
        .await
        .unwrap();
    assert_eq!(users["id"], DEMO_ACCOUNT_ID);

    // The operator API refuses what it refuses, as an error.
    match seats.operator(Method::GET, "/accounts/nope", None).await {
        Err(Error::Operator { status, body }) => {
            assert_eq!(status, 404);
            assert!(body.contains("12130"), "{body}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_server_has_its_own_data_and_stops_on_drop() {
    let first = TestServer::start().await;
    let second = TestServer::start().await;
    assert_ne!(first.uri(), second.uri());
    assert_ne!(first.operator_key(), second.operator_key());
    assert_eq!(edit(&first, false).await.status(), StatusCode::OK);
    assert_eq!(first.journal("").await.unwrap().len(), 1);
    assert_eq!(second.journal("").await.unwrap().len(), 0);

    let address = first.address();
    drop(first);
    // Give the aborted task a moment to close its listener.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "the dropped server still accepts connections");
}

#[tokio::test]
async fn takes_a_seed_of_the_tests_own_and_refuses_a_bad_one() {
    let seed = json!({"accounts": [{"id": "0123456789abcdef0123456789abcdef", "name": "Acme", "seat_limit": 2,
        "users": [{"email": "ann@acme.test", "seat_uid": "ann", "access_seat": true}]}],
        "tokens": [{"name": "acme", "value": "acme-token", "policies": [{"effect": "allow",
            "resources": {"com.cloudflare.api.account.0123456789abcdef0123456789abcdef": "*"},
            "permission_groups": [{"name": "Access: Audit Logs Read"}]}]}]});
    let seats = TestServer::builder().seed_json(seed.to_string()).start().await;
    let users: Value = reqwest::Client::new()
        .get(format!(
            "{}/accounts/0123456789abcdef0123456789abcdef/access/users",
            seats.api_base_url()
        ))
        .bearer_auth("acme-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["result"][0]["email"], "ann@acme.test", "{users}");

    let bad = TestServer::builder()
        .seed_json(r#"{"accounts": [{"id": "not-an-id"}]}"#)
        .try_start()
        .await
        .unwrap_err();
    match bad {
        Error::Seed(why) => assert!(why.contains("/accounts/0: missing field `name`"), "{why}"),
        other => panic!("{other:?}"),
    }
    let missing = TestServer::builder()
        .seed_file("no/such/seed.json")
        .try_start()
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("the seed is not valid: no/such/seed.json:"),
        "{missing}"
    );
}

#[tokio::test]
async fn a_manual_clock_moves_when_told() {
    let seats = TestServer::builder().manual_clock().start().await;
    let before = seats.operator(Method::GET, "/clock", None).await.unwrap();
    let after = seats.advance_clock("800h").await.unwrap();
    let t = |v: &Value| v["now"].as_str().unwrap().parse::<seats_types::Timestamp>().unwrap();
    let moved = t(&after).unix_micros() - t(&before).unix_micros();
    assert!(moved >= 800 * 3600 * 1_000_000, "{before} -> {after}");
}
