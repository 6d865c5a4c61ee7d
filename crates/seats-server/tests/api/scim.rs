//! The SCIM 2.0 endpoint of an identity provider: authentication, Users and Groups, filters,
//! PATCH, versions, and what deprovisioning does to seats.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::identity_providers::{scim_provider, seed, IDPS};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Scim<'a> {
    app: &'a TestApp,
    base: String,
    secret: String,
}

impl<'a> Scim<'a> {
    fn new(app: &'a TestApp, id: &str, secret: &str) -> Self {
        Scim {
            app,
            base: format!("/populations/{id}/scim/v2"),
            secret: secret.to_owned(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (u16, HeaderMap, Value) {
        let mut req = self
            .app
            .client
            .request(method, self.app.url(&format!("{}{path}", self.base)))
            .bearer_auth(&self.secret)
            .header("content-type", "application/scim+json");
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        if !text.is_empty() {
            assert_eq!(headers["content-type"], "application/scim+json", "{text}");
        }
        (status, headers, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body) = self.send(method, path, body, None).await;
        (status, body)
    }

    async fn create_user(&self, user_name: &str, email: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/Users",
                Some(
                    json!({"schemas": [USER], "userName": user_name, "externalId": format!("ext-{user_name}"),
                    "name": {"givenName": "G", "familyName": "F"}, "displayName": user_name,
                    "emails": [{"value": email, "type": "work", "primary": true}], "active": true,
                    "password": "never-stored"}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    async fn deactivate(&self, id: &str) {
        let (status, body) = self
            .call(
                Method::PATCH,
                &format!("/Users/{id}"),
                Some(json!({"schemas": [PATCH],
                "Operations": [{"op": "replace", "value": {"active": false}}]})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], false);
    }
}

fn assert_scim_error(status: u16, body: &Value, expected_status: u16, scim_type: Option<&str>, detail: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["schemas"], json!([ERROR]), "{body}");
    assert_eq!(body["status"], json!(expected_status.to_string()), "{body}");
    assert_eq!(body.get("scimType").and_then(Value::as_str), scim_type, "{body}");
    assert_eq!(body["detail"], json!(detail), "{body}");
}

/// The account user of `email`, through the Cloudflare API.
async fn account_user(app: &TestApp, email: &str) -> Value {
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/accounts/{ACCOUNT}/access/users?email={email}"),
            Auth::Token(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["result"][0].clone()
}

#[tokio::test]
async fn only_the_providers_own_secret_opens_its_endpoint() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let (id, secret) = scim_provider(&app, false, false).await;
        let (other, other_secret) = scim_provider(&app, false, false).await;
        let ok = Scim::new(&app, &id, &secret);
        let (status, body) = ok.call(Method::GET, "/ServiceProviderConfig", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["patch"]["supported"], true);
        assert_eq!(body["etag"]["supported"], true);
        assert_eq!(body["filter"], json!({"supported": true, "maxResults": 1000}));

        for (who, path, want, detail) in [
            (
                Scim::new(&app, &id, "wrong"),
                "/Users",
                401,
                "the SCIM secret is not valid for this identity provider",
            ),
            (
                Scim::new(&app, &id, &other_secret),
                "/Users",
                401,
                "the SCIM secret is not valid for this identity provider",
            ),
            (
                Scim::new(&app, &other, &secret),
                "/Users",
                401,
                "the SCIM secret is not valid for this identity provider",
            ),
            (
                Scim::new(&app, "00000000-0000-4000-8000-000000000000", &secret),
                "/Users",
                401,
                "the SCIM secret is not valid for this identity provider",
            ),
        ] {
            let (status, headers, body) = who.send(Method::GET, path, None, None).await;
            assert_scim_error(status, &body, want, None, detail);
            if want == 401 {
                assert_eq!(headers["www-authenticate"], "Bearer realm=\"SCIM\"");
            }
        }
        let resp = app
            .client
            .get(app.url(&format!("/populations/{id}/scim/v2/Users")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);

        // SCIM turned off: the secret no longer opens the endpoint.
        let (status, _) = app
            .call(
                Method::PUT,
                &format!("{IDPS}/{id}"),
                Auth::Token("idp-writer"),
                Some(json!({"name": "Okta", "type": "okta", "config": {}, "scim_config": {"enabled": false}})),
            )
            .await;
        assert_eq!(status, 200);
        let (status, body) = ok.call(Method::GET, "/Users", None).await;
        assert_scim_error(
            status,
            &body,
            401,
            None,
            "SCIM is not enabled on this identity provider",
        );

        // A refreshed secret replaces the old one.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("{IDPS}/{other}/refresh_scim_secret"),
                Auth::Token("idp-writer"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let fresh = body["result"]["scim_config"]["secret"].as_str().unwrap().to_owned();
        assert_ne!(fresh, other_secret);
        assert_eq!(
            Scim::new(&app, &other, &fresh)
                .call(Method::GET, "/Users", None)
                .await
                .0,
            200
        );
        assert_eq!(
            Scim::new(&app, &other, &other_secret)
                .call(Method::GET, "/Users", None)
                .await
                .0,
            401
        );
    })
    .await;
}

#[tokio::test]
async fn users_are_created_linked_by_email_listed_filtered_and_take_no_seat() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let (id, secret) = scim_provider(&app, true, true).await;
        let scim = Scim::new(&app, &id, &secret);
        let seats_before = app.store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use;

        // Bob exists in the account: linked, not duplicated. Zoe is new: created, seatless.
        let bob = scim.create_user("bob", "Bob@Example.com").await;
        let zoe = scim.create_user("zoe", "zoe@example.com").await;
        assert!(bob.get("password").is_none(), "never stored, never returned");
        assert_eq!(
            bob["name"],
            json!({"givenName": "G", "familyName": "F"}),
            "attributes read back as sent"
        );
        assert_eq!(bob["meta"]["resourceType"], "User");
        assert_eq!(bob["meta"]["version"], "W/\"1\"");
        let location = format!(
            "http://{}/populations/{id}/scim/v2/Users/{}",
            app.addr,
            bob["id"].as_str().unwrap()
        );
        assert_eq!(bob["meta"]["location"], json!(location));
        let zoe_user = account_user(&app, "zoe@example.com").await;
        assert_eq!(
            (zoe_user["access_seat"].clone(), zoe_user["gateway_seat"].clone()),
            (json!(false), json!(false))
        );
        let (_, users) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/users?email=bob@example.com"),
                Auth::Token(TOKEN),
                None,
            )
            .await;
        assert_eq!(users["result"].as_array().unwrap().len(), 1, "linked, not a second Bob");
        assert_eq!(
            app.store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use,
            seats_before,
            "no seat taken"
        );

        let (status, body) = scim
            .call(
                Method::POST,
                "/Users",
                Some(json!({"schemas": [USER], "userName": "BOB"})),
            )
            .await;
        assert_scim_error(status, &body, 409, Some("uniqueness"), "userName BOB is taken");

        for (filter, expect) in [
            (r#"userName eq "ZOE""#, vec![&zoe]),
            (r#"externalId eq "ext-bob""#, vec![&bob]),
            (r#"emails[type eq "work"].value eq "bob@example.com""#, vec![&bob]),
            (r#"userName eq "nobody""#, vec![]),
        ] {
            let (status, body) = scim
                .call(Method::GET, &format!("/Users?filter={}", urlencode(filter)), None)
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["totalResults"], json!(expect.len()), "{filter}");
            assert_eq!(body["Resources"], json!(expect), "{filter}");
        }
        let (status, body) = scim
            .call(
                Method::GET,
                &format!("/Users?filter={}", urlencode(r#"title co "x""#)),
                None,
            )
            .await;
        assert_scim_error(
            status,
            &body,
            400,
            Some("invalidFilter"),
            "unsupported operator \"co\" (only `eq`)",
        );

        let (_, page) = scim.call(Method::GET, "/Users?startIndex=2&count=1", None).await;
        assert_eq!(
            (
                page["totalResults"].clone(),
                page["startIndex"].clone(),
                page["itemsPerPage"].clone()
            ),
            (json!(2), json!(2), json!(1))
        );
        assert_eq!(page["Resources"][0]["id"], zoe["id"]);
        assert_eq!(
            page["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );

        // Cloudflare's own listing of the provider's SCIM users.
        let (status, body) = app
            .call(
                Method::GET,
                &format!("{IDPS}/{id}/scim/users?username=bob"),
                Auth::Token("idp-reader"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"].as_array().unwrap().len(), 1);
        let listed = &body["result"][0];
        assert_eq!(listed["id"], bob["id"]);
        assert_eq!(listed["externalId"], "ext-bob");
        assert_eq!(
            listed["emails"],
            json!([{"primary": true, "type": "work", "value": "Bob@Example.com"}])
        );
        let (_, body) = app
            .call(
                Method::GET,
                &format!(
                    "{IDPS}/{id}/scim/users?cf_resource_id={}&cf_resource_id={}",
                    bob["id"].as_str().unwrap(),
                    zoe["id"].as_str().unwrap()
                ),
                Auth::Token("idp-reader"),
                None,
            )
            .await;
        assert_eq!(body["result_info"]["total_count"], 2);
    })
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn deactivation_frees_the_seat_only_with_seat_deprovision() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&seed()).operator().start().await;
        // Carol logs in: an Access session beside her Access seat.
        let (status, body) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "carol@example.com", "via": "access"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let seats_before = app.store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use;

        // Provider A deprovisions users but keeps seats: Carol's session ends, her seat stays.
        let (a, a_secret) = scim_provider(&app, true, false).await;
        let scim_a = Scim::new(&app, &a, &a_secret);
        let carol = scim_a.create_user("carol", "carol@example.com").await;
        scim_a.deactivate(carol["id"].as_str().unwrap()).await;
        let carol_user = account_user(&app, "carol@example.com").await;
        assert_eq!(carol_user["access_seat"], true, "seat kept without seat_deprovision");
        let (_, sessions) = app
            .call(
                Method::GET,
                &format!(
                    "/accounts/{ACCOUNT}/access/users/{}/active_sessions",
                    carol_user["id"].as_str().unwrap()
                ),
                Auth::Token(TOKEN),
                None,
            )
            .await;
        assert_eq!(sessions["result"], json!([]), "sessions ended");

        // Provider B frees seats: Alice (both seats, two devices) deactivated loses both.
        let (b, b_secret) = scim_provider(&app, true, true).await;
        let scim_b = Scim::new(&app, &b, &b_secret);
        let alice_account_id = app.user(ALICE_SEAT).await.id;
        let (_, sessions) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/users/{alice_account_id}/active_sessions"),
                Auth::Token(TOKEN),
                None,
            )
            .await;
        let alice_sessions = sessions["result"].as_array().unwrap().len();
        let alice = scim_b.create_user("alice", "alice@example.com").await;
        let alice_id = alice["id"].as_str().unwrap();
        scim_b.deactivate(alice_id).await;
        let alice_user = app.user(ALICE_SEAT).await;
        assert_eq!(
            (
                alice_user.access_seat,
                alice_user.gateway_seat,
                alice_user.active_device_count
            ),
            (false, false, 0)
        );
        assert_eq!(
            app.store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use,
            seats_before - 1
        );

        let events = app.store.audit_events(ACCOUNT, 1, 2).await.unwrap().0;
        assert_eq!(events[0].action, "seat.deprovision");
        assert_eq!(events[0].actor, seats_store::Actor::IdentityProvider(b.clone()));
        assert_eq!(events[0].subject, ALICE_SEAT);
        assert_eq!(
            events[0].before,
            Some(json!({"access_seat": true, "gateway_seat": true}))
        );
        assert_eq!(
            events[0].after,
            Some(json!({"access_seat": false, "gateway_seat": false}))
        );
        assert_eq!(events[1].action, "user.deprovision");
        assert_eq!(
            events[1].before,
            Some(json!({"sessions": alice_sessions, "devices": 2}))
        );
        assert_eq!(events[1].after, Some(json!({"sessions": 0, "devices": 0})));

        // Reactivated, she holds no seat until she logs in again.
        let (status, body) = scim_b
            .call(
                Method::PATCH,
                &format!("/Users/{alice_id}"),
                Some(json!({"schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "active", "value": "True"}]})),
            )
            .await;
        assert_eq!((status, body["active"].clone()), (200, json!(true)), "{body}");
        assert!(!app.user(ALICE_SEAT).await.access_seat);
        let (status, _) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "alice@example.com", "via": "access"})),
            )
            .await;
        assert_eq!(status, 200);
        assert!(app.user(ALICE_SEAT).await.access_seat);

        // DELETE deprovisions too.
        let (status, _, body) = scim_b
            .send(Method::DELETE, &format!("/Users/{alice_id}"), None, None)
            .await;
        assert_eq!((status, body), (204, Value::Null));
        assert!(!app.user(ALICE_SEAT).await.access_seat);
        assert_eq!(
            scim_b.call(Method::GET, &format!("/Users/{alice_id}"), None).await.0,
            404
        );
        let (_, users) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/users?email=alice@example.com"),
                Auth::Token(TOKEN),
                None,
            )
            .await;
        assert_eq!(users["result"].as_array().unwrap().len(), 1, "the account's user stays");
    })
    .await;
}

#[tokio::test]
async fn put_replaces_patch_edits_and_if_match_guards_both() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let (id, secret) = scim_provider(&app, false, false).await;
        let scim = Scim::new(&app, &id, &secret);
        let user = scim.create_user("dan", "dan@example.com").await;
        let uid = user["id"].as_str().unwrap();

        let (status, headers, body) = scim.send(Method::PUT, &format!("/Users/{uid}"),
            Some(json!({"schemas": [USER], "userName": "dan", "title": "CTO", "emails": [{"value": "dan@example.com"}]})), Some("W/\"1\"")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["etag"], "W/\"2\"");
        assert!(body.get("name").is_none(), "PUT replaces: what is not sent is gone");
        assert_eq!(body["title"], "CTO");

        let (status, _, body) = scim.send(Method::PUT, &format!("/Users/{uid}"), Some(json!({"schemas": [USER], "userName": "dan"})), Some("W/\"1\"")).await;
        assert_scim_error(status, &body, 412, None, "the resource changed since the version in If-Match");
        let (status, _, body) = scim.send(Method::DELETE, &format!("/Users/{uid}"), None, Some("W/\"7\"")).await;
        assert_scim_error(status, &body, 412, None, "the resource changed since the version in If-Match");

        let (status, body) = scim.call(Method::PATCH, &format!("/Users/{uid}"), Some(json!({"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "name.givenName", "value": "Dan"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "daniel@example.com"},
            {"op": "remove", "path": "title"}]}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"], json!({"givenName": "Dan"}));
        assert_eq!(body["emails"], json!([{"value": "dan@example.com"}, {"type": "work", "value": "daniel@example.com"}]));
        assert!(body.get("title").is_none());
        assert_eq!(body["meta"]["version"], "W/\"3\"");

        for (ops, status_want, scim_type, detail) in [
            (json!([{"op": "remove"}]), 400, Some("noTarget"), "remove needs a path"),
            (json!([{"op": "replace", "path": "userName", "value": ""}]), 400, Some("invalidValue"), "userName is required and must be a non-empty string"),
        ] {
            let (status, body) = scim.call(Method::PATCH, &format!("/Users/{uid}"), Some(json!({"schemas": [PATCH], "Operations": ops}))).await;
            assert_scim_error(status, &body, status_want, scim_type, detail);
        }
        let (status, body) = scim.call(Method::PATCH, "/Users/00000000-0000-4000-8000-000000000000",
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}))).await;
        assert_scim_error(status, &body, 404, None, "User 00000000-0000-4000-8000-000000000000 not found");
        let (status, body) = scim.call(Method::POST, "/Users", Some(json!({"userName": "x"}))).await;
        assert_scim_error(status, &body, 400, Some("invalidSyntax"), &format!("schemas must list {USER}"));
        let (_, body) = scim.call(Method::GET, &format!("/Users/{uid}"), None).await;
        assert_eq!(body["meta"]["version"], "W/\"3\"", "refused writes changed nothing");
    })
    .await;
}

#[tokio::test]
async fn groups_hold_the_providers_users() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let (id, secret) = scim_provider(&app, false, false).await;
        let scim = Scim::new(&app, &id, &secret);
        let a = scim.create_user("ann", "ann@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let b = scim.create_user("ben", "ben@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        let (status, group) = scim
            .call(
                Method::POST,
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": "Eng",
            "externalId": "g1", "members": [{"value": a}]})),
            )
            .await;
        assert_eq!(status, 201, "{group}");
        let gid = group["id"].as_str().unwrap().to_owned();
        assert_eq!(group["members"].as_array().unwrap().len(), 1);
        assert_eq!(group["members"][0]["value"], json!(a));

        let (status, body) = scim
            .call(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                Some(json!({"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": b}]},
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")}]})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let members: Vec<&str> = body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members, [b.as_str()]);

        let (status, body) = scim
            .call(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                Some(json!({"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "not-a-user"}]}]})),
            )
            .await;
        assert_scim_error(
            status,
            &body,
            400,
            Some("invalidValue"),
            "members are not users of this identity provider: not-a-user",
        );

        let (status, body) = scim
            .call(
                Method::POST,
                "/Groups",
                Some(json!({"schemas": [GROUP], "displayName": "Eng"})),
            )
            .await;
        assert_scim_error(status, &body, 409, Some("uniqueness"), "displayName Eng is taken");

        let (_, list) = scim
            .call(
                Method::GET,
                &format!(
                    "/Groups?filter={}&excludedAttributes=members",
                    urlencode(r#"displayName eq "Eng""#)
                ),
                None,
            )
            .await;
        assert_eq!(list["totalResults"], 1);
        assert!(list["Resources"][0].get("members").is_none());
        let (_, body) = app
            .call(
                Method::GET,
                &format!("{IDPS}/{id}/scim/groups?idp_resource_id=g1"),
                Auth::Token("idp-reader"),
                None,
            )
            .await;
        assert_eq!(body["result"][0]["displayName"], "Eng");
        assert_eq!(body["result"][0]["externalId"], "g1");

        // A deleted user leaves its groups.
        assert_eq!(
            scim.send(Method::DELETE, &format!("/Users/{b}"), None, None).await.0,
            204
        );
        let (_, body) = scim.call(Method::GET, &format!("/Groups/{gid}"), None).await;
        assert_eq!(body["members"], json!([]));
        assert_eq!(
            scim.send(Method::DELETE, &format!("/Groups/{gid}"), None, None).await.0,
            204
        );
        assert_eq!(scim.call(Method::GET, &format!("/Groups/{gid}"), None).await.0, 404);

        // Deleting the provider takes its SCIM resources with it.
        let (status, _) = app
            .call(Method::DELETE, &format!("{IDPS}/{id}"), Auth::Token("idp-writer"), None)
            .await;
        assert_eq!(status, 200);
        assert!(app.store.scim_user(&id, &a).await.unwrap().is_none());
    })
    .await;
}
