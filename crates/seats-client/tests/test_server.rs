//! The client against `seats_testing::TestServer`, as a user of both writes a test: an edit,
//! and a 429 from a fault rule that the client waits out and retries.

use seats_client::{Client, SeatEditParams, SeatEditParamsBody};
use seats_testing::TestServer;
use serde_json::json;

const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";
const EDIT: &str = "zero-trust-seats-update-a-user-seat";

#[tokio::test]
async fn the_client_retries_a_429_the_test_server_was_told_to_send() {
    let seats = TestServer::start().await;
    let client = Client::builder()
        .api_token(seats.token())
        .base_url(seats.api_base_url())
        .build()
        .unwrap();
    seats
        .add_fault(json!({"match": {"operation_id": EDIT}, "action": {"status": 429}, "times": 1}))
        .await
        .unwrap();
    let page = client
        .zero_trust()
        .seats()
        .edit(SeatEditParams {
            account_id: seats.account_id().into(),
            body: vec![SeatEditParamsBody {
                access_seat: false,
                gateway_seat: false,
                seat_uid: SEAT.into(),
            }],
        })
        .await
        .unwrap();
    assert_eq!(page.result[0].access_seat, Some(false));
    let statuses: Vec<_> = seats
        .journal(&format!("?operation_id={EDIT}"))
        .await
        .unwrap()
        .iter()
        .map(|entry| entry["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 200], "one refusal, one retry");
}
