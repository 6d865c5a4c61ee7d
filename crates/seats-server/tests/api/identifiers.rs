//! Identifiers kept apart (docs/api.md, "Identifiers"): a user's `id` (= `uid`) and its
//! `seat_uid` are different values, and each route takes exactly one of them. Passing the
//! other is Cloudflare's 404 12130 for what the route looks up, never a silent match, and
//! changes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The test seed plus a token that may also revoke users.
fn seed() -> Value {
    let mut seed = test_seed();
    seed["tokens"].as_array_mut().unwrap().push(
        json!({"name": "all", "value": "all-token", "policies": [{"effect": "allow",
        "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"},
        "permission_groups": [{"name": "Zero Trust: Seats Write"}, {"name": "Access: Audit Logs Read"},
                              {"name": "Access: Organizations, Identity Providers, and Groups Write"}]}]}),
    );
    seed
}

#[tokio::test]
async fn every_route_refuses_the_other_identifier() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let auth = Auth::Token("all-token");
        let alice = app.user(ALICE_SEAT).await;
        assert_ne!(alice.id, alice.seat_uid, "the seed gives them apart");
        let audit = app.audit_count(ACCOUNT).await;

        // The users routes take the user id: alice's seat uid is no user's id.
        let users = format!("/accounts/{ACCOUNT}/access/users");
        let seat = &alice.seat_uid;
        let not_a_user = format!("access.api.error.not_found: no user with id \"{seat}\" in this account");
        for (method, path, body) in [
            (Method::GET, format!("{users}/{seat}"), None),
            (
                Method::PUT,
                format!("{users}/{seat}"),
                Some(json!({"email": "alice@example.com", "name": "A"})),
            ),
            (Method::DELETE, format!("{users}/{seat}"), None),
            (Method::GET, format!("{users}/{seat}/active_sessions"), None),
            (Method::GET, format!("{users}/{seat}/failed_logins"), None),
            (Method::GET, format!("{users}/{seat}/last_seen_identity"), None),
        ] {
            let mut req = auth.apply(app.request(method.clone(), &format!("/client/v4{path}")));
            if let Some(body) = body {
                req = req.body(body.to_string());
            }
            let resp = req.send().await.unwrap();
            assert_error(resp, 404, &[(12130, &not_a_user, Some(""))]).await;
        }

        // The seats PATCH takes the seat uid: alice's user id is no seat's uid.
        let resp = app
            .patch_seats_as(ACCOUNT, auth, &json!([item(&alice.id, false, false)]))
            .await;
        let not_a_seat = format!(
            "access.api.error.not_found: no seat with seat_uid \"{}\" in this account",
            alice.id
        );
        assert_error(resp, 404, &[(12130, &not_a_seat, Some("/0/seat_uid"))]).await;

        // revoke_user's user_uid is the user id: the seat uid names nobody.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/access/organizations/revoke_user"),
                auth,
                Some(json!({"email": "alice@example.com", "user_uid": seat})),
            )
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["errors"][0]["code"], 12130);
        assert_eq!(body["errors"][0]["source"]["pointer"], "/user_uid");

        // Each route answers for its own identifier.
        let (status, body) = app
            .call(Method::GET, &format!("{users}/{}", alice.id), auth, None)
            .await;
        assert_eq!(
            (status.as_u16(), &body["result"]["seat_uid"]),
            (200, &json!(seat)),
            "{body}"
        );
        assert_eq!(body["result"]["uid"], body["result"]["id"], "uid is the id");

        assert_eq!(app.user(ALICE_SEAT).await, alice, "nothing changed");
        assert_eq!(app.audit_count(ACCOUNT).await, audit);
    })
    .await;
}
