//! Device registrations (docs/api.md, "Device registrations"): listed with cursor pages and
//! filters, fetched, revoked and unrevoked, deleted; bad input answered field by field.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const P: &str = "access.api.error.invalid_request: ";

/// The test seed plus tokens with the Zero Trust groups.
fn seed() -> Value {
    let mut seed = test_seed();
    for (value, group) in [("zt-reader", "Zero Trust Read"), ("zt-writer", "Zero Trust Write")] {
        seed["tokens"].as_array_mut().unwrap().push(json!({"name": value, "value": value, "policies": [{"effect": "allow",
            "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"}, "permission_groups": [{"name": group}]}]}));
    }
    seed
}

/// The server with Alice's two seeded devices and three more from WARP logins.
async fn app_with_devices() -> TestApp {
    let app = TestApp::builder().seed(&seed()).operator().start().await;
    for device in ["laptop", "phone", "tablet"] {
        let (status, body) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "carol@example.com", "via": "gateway", "device_id": device})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    app
}

fn registrations(query: &str) -> String {
    format!("/accounts/{ACCOUNT}/devices/registrations{query}")
}

#[tokio::test]
async fn registrations_page_by_cursor_and_filter() {
    on_each_backend(|| async {
        let app = app_with_devices().await;
        let (status, all) = app
            .call(
                Method::GET,
                &registrations("?per_page=1000"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{all}");
        let all = all["result"].as_array().unwrap().clone();
        assert_eq!(all.len(), 5, "two seeded for Alice, three from Carol's logins");
        let carol = app.user("carol").await;
        let laptop = all.iter().find(|r| r["device"]["id"] == "laptop").unwrap();
        assert_eq!(
            laptop["user"],
            json!({"id": carol.id, "email": "carol@example.com", "name": "Carol"})
        );
        assert_eq!(
            (
                &laptop["registration_type"],
                &laptop["revoked_at"],
                &laptop["deleted_at"]
            ),
            (&json!("warp"), &Value::Null, &Value::Null)
        );
        assert_eq!(laptop["device"]["name"], "");
        assert_eq!(laptop["key"].as_str().unwrap().len(), 64);
        assert_eq!(laptop["created_at"], laptop["last_seen_at"]);

        // Cursor pages of two cover the list once, in the same order; the last has no cursor.
        let mut paged = Vec::new();
        let mut cursor = String::new();
        for round in 0.. {
            assert!(round < 5, "the pages end");
            let query = if cursor.is_empty() {
                "?per_page=2".to_owned()
            } else {
                format!("?per_page=2&cursor={cursor}")
            };
            let (status, page) = app
                .call(Method::GET, &registrations(&query), Auth::Token("zt-reader"), None)
                .await;
            assert_eq!(status, 200, "{page}");
            let info = &page["result_info"];
            assert_eq!(
                (info["per_page"].as_u64(), info["count"].as_u64()),
                (Some(2), Some(page["result"].as_array().unwrap().len() as u64))
            );
            paged.extend(page["result"].as_array().unwrap().iter().cloned());
            cursor = info["cursor"].as_str().unwrap().to_owned();
            if cursor.is_empty() {
                break;
            }
        }
        assert_eq!(paged, all);

        let ids = |query: &str| {
            let app = &app;
            let path = registrations(query);
            async move {
                let (status, body) = app.call(Method::GET, &path, Auth::Token("zt-reader"), None).await;
                assert_eq!(status, 200, "{body}");
                body["result"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["device"]["id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            ids(&format!("?user.id={}", carol.id)).await,
            ["laptop", "phone", "tablet"]
        );
        assert_eq!(ids("?device.id=phone").await, ["phone"]);
        assert_eq!(ids("?search=CAROL&sort_by=id&sort_order=desc").await.len(), 3);
        let (laptop_id, phone_id) = (
            laptop["id"].as_str().unwrap(),
            all.iter().find(|r| r["device"]["id"] == "phone").unwrap()["id"]
                .as_str()
                .unwrap(),
        );
        assert_eq!(
            ids(&format!("?id={laptop_id}&id={phone_id}")).await,
            ["laptop", "phone"]
        );
        let (status, one) = app
            .call(
                Method::GET,
                &registrations(&format!("/{laptop_id}")),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!((status.as_u16(), &one["result"]), (200, laptop));
    })
    .await;
}

#[tokio::test]
async fn revoke_unrevoke_and_delete_change_what_counts() {
    on_each_backend(|| async {
        let app = app_with_devices().await;
        let (_, all) = app
            .call(
                Method::GET,
                &registrations(&format!("?user.id={}", app.user("carol").await.id)),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        let id = |i: usize| all["result"][i]["id"].as_str().unwrap().to_owned();
        let (laptop, phone, tablet) = (id(0), id(1), id(2));
        assert_eq!(app.user("carol").await.active_device_count, 3);
        let audit = app.audit_count(ACCOUNT).await;

        // Bad input: each answered with its pointer, and nothing changes.
        let many: String = (0..1001).map(|i| format!("id=r{i}&")).collect();
        let cases: Vec<(Method, String, u16, i64, String, &str)> = vec![
            (
                Method::POST,
                registrations("/revoke"),
                400,
                12006,
                format!("{P}id is required: name at least one registration"),
                "/id",
            ),
            (
                Method::POST,
                registrations(&format!("/revoke?id={laptop}&id={laptop}")),
                400,
                12006,
                format!("{P}{laptop:?} is named twice"),
                "/id",
            ),
            (
                Method::POST,
                registrations(&format!("/revoke?{many}")),
                400,
                12006,
                format!("{P}at most 1000 ids per request, got 1001"),
                "/id",
            ),
            (
                Method::POST,
                registrations(&format!("/revoke?id={laptop}&id=nope")),
                404,
                12130,
                "access.api.error.not_found: no registration with id \"nope\" in this account".into(),
                "/id",
            ),
            // The WARP device's id is not the registration's.
            (
                Method::POST,
                registrations("/unrevoke?id=laptop"),
                404,
                12130,
                "access.api.error.not_found: no registration with id \"laptop\" in this account".into(),
                "/id",
            ),
            (
                Method::DELETE,
                registrations("?id=phone"),
                404,
                12130,
                "access.api.error.not_found: no registration with id \"phone\" in this account".into(),
                "/id",
            ),
            (
                Method::GET,
                registrations("/laptop"),
                404,
                12130,
                "access.api.error.not_found: no registration with id \"laptop\" in this account".into(),
                "",
            ),
            (
                Method::DELETE,
                registrations("/laptop"),
                404,
                12130,
                "access.api.error.not_found: no registration with id \"laptop\" in this account".into(),
                "",
            ),
            (
                Method::GET,
                registrations("?cursor=zz"),
                400,
                12006,
                format!("{P}\"zz\" is not a cursor this server gave"),
                "/cursor",
            ),
            (
                Method::GET,
                registrations("?per_page=0"),
                400,
                12006,
                format!("{P}per_page must be an integer between 1 and 1000, got \"0\""),
                "/per_page",
            ),
            (
                Method::GET,
                registrations("?status=gone"),
                400,
                12006,
                format!("{P}status must be active, revoked or all, got \"gone\""),
                "/status",
            ),
            (
                Method::GET,
                registrations("?sort_by=name"),
                400,
                12006,
                format!("{P}sort_by must be id, user.name, user.email, last_seen_at or created_at, got \"name\""),
                "/sort_by",
            ),
            (
                Method::GET,
                registrations("?seen_after=yesterday"),
                400,
                12006,
                format!("{P}seen_after must be an RFC 3339 timestamp, got \"yesterday\""),
                "/seen_after",
            ),
        ];
        for (method, path, status, code, message, pointer) in cases {
            let resp = Auth::Token("zt-writer")
                .apply(app.request(method.clone(), &format!("/client/v4{path}")))
                .send()
                .await
                .unwrap();
            assert_error(resp, status, &[(code, &message, Some(pointer))]).await;
        }
        // Reading needs Zero Trust Read or Write; changing needs Write.
        let (status, _) = app
            .call(
                Method::POST,
                &registrations(&format!("/revoke?id={laptop}")),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .call(Method::GET, &registrations(""), Auth::Token(TOKEN), None)
            .await;
        assert_eq!(status, 403);
        assert_eq!(app.user("carol").await.active_device_count, 3, "nothing changed");
        assert_eq!(app.audit_count(ACCOUNT).await, audit);

        let write = |method: Method, query: String| {
            let app = &app;
            async move {
                let (status, body) = app
                    .call(method, &registrations(&query), Auth::Token("zt-writer"), None)
                    .await;
                assert_eq!((status.as_u16(), &body["result"]), (200, &json!({})), "{body}");
            }
        };
        write(Method::POST, format!("/revoke?id={laptop}&id={phone}")).await;
        assert_eq!(app.user("carol").await.active_device_count, 1);
        let (_, revoked) = app
            .call(
                Method::GET,
                &registrations("?status=revoked"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(revoked["result"].as_array().unwrap().len(), 2);
        assert!(revoked["result"][0]["revoked_at"].is_string());
        write(Method::POST, format!("/unrevoke?id={phone}")).await;
        assert_eq!(app.user("carol").await.active_device_count, 2);
        write(Method::DELETE, format!("/{tablet}")).await;
        write(Method::DELETE, format!("?id={laptop}")).await;
        let (status, _) = app
            .call(
                Method::GET,
                &registrations(&format!("/{tablet}")),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(status, 404);
        let (_, every) = app
            .call(
                Method::GET,
                &registrations("?status=all"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(
            every["result"].as_array().unwrap().len(),
            3,
            "Alice's two and Carol's phone"
        );
        assert_eq!(app.user("carol").await.active_device_count, 1);
        assert_eq!(app.audit_count(ACCOUNT).await, audit + 5);
    })
    .await;
}

#[tokio::test]
async fn physical_devices_and_the_deprecated_revoke() {
    on_each_backend(|| async {
        let app = app_with_devices().await;
        // Alice shares Carol's laptop.
        let (status, body) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "alice@example.com", "via": "gateway", "device_id": "laptop"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let physical = |query: &str| format!("/accounts/{ACCOUNT}/devices/physical-devices{query}");
        let (status, list) = app
            .call(
                Method::GET,
                &physical("?id=laptop&id=phone"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{list}");
        let devices = list["result"].as_array().unwrap();
        assert_eq!(
            devices.iter().map(|d| d["id"].as_str().unwrap()).collect::<Vec<_>>(),
            ["laptop", "phone"]
        );
        assert_eq!(devices[0]["active_registrations"], 2);
        assert_eq!(devices[0]["last_seen_user"]["email"], "alice@example.com", "seen last");
        assert_eq!(
            (&devices[0]["tags"], &devices[0]["deleted_at"]),
            (&json!({}), &Value::Null)
        );
        for (query, expected) in [
            (
                "?last_seen_user.email=ALICE@example.com&id=laptop&id=phone",
                vec!["laptop"],
            ),
            ("?has_registration_type=warp&id=laptop", vec!["laptop"]),
            ("?has_registration_type=browser_extension", vec![]),
            ("?tag=office", vec![]),
        ] {
            let (status, found) = app
                .call(Method::GET, &physical(query), Auth::Token("zt-reader"), None)
                .await;
            assert_eq!(status, 200, "{found}");
            let found: Vec<&str> = found["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap())
                .collect();
            assert_eq!(found, expected, "{query}");
        }
        let resp = Auth::Token("zt-reader")
            .apply(app.request(
                Method::GET,
                &format!("/client/v4{}", physical("?has_registration_type=usb")),
            ))
            .send()
            .await
            .unwrap();
        let message = format!("{P}has_registration_type must be warp or browser_extension, got \"usb\"");
        assert_error(resp, 400, &[(12006, &message, Some("/has_registration_type"))]).await;
        let (status, all) = app
            .call(Method::GET, &physical("?per_page=1"), Auth::Token("zt-reader"), None)
            .await;
        assert_eq!((status.as_u16(), all["result_info"]["count"].as_u64()), (200, Some(1)));
        assert!(!all["result_info"]["cursor"].as_str().unwrap().is_empty());

        // Revoking the laptop revokes both its registrations; deleting the phone deletes it.
        let (status, body) = app
            .call(
                Method::POST,
                &physical("/laptop/revoke"),
                Auth::Token("zt-writer"),
                None,
            )
            .await;
        assert_eq!((status.as_u16(), &body["result"]), (200, &json!({})), "{body}");
        let (_, laptop) = app
            .call(Method::GET, &physical("/laptop"), Auth::Token("zt-reader"), None)
            .await;
        assert_eq!(laptop["result"]["active_registrations"], 0);
        let (_, active) = app
            .call(
                Method::GET,
                &physical("?active_registrations=only"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert!(active["result"].as_array().unwrap().iter().all(|d| d["id"] != "laptop"));
        let (status, _) = app
            .call(Method::DELETE, &physical("/phone"), Auth::Token("zt-writer"), None)
            .await;
        assert_eq!(status, 200);
        for (method, path) in [
            (Method::GET, "/phone"),
            (Method::DELETE, "/phone"),
            (Method::POST, "/nope/revoke"),
        ] {
            let id = path.trim_start_matches('/').trim_end_matches("/revoke");
            let resp = Auth::Token("zt-writer")
                .apply(app.request(method, &format!("/client/v4{}", physical(path))))
                .send()
                .await
                .unwrap();
            assert_error(
                resp,
                404,
                &[(
                    12130,
                    &format!("access.api.error.not_found: no device with id {id:?} in this account"),
                    Some(""),
                )],
            )
            .await;
        }

        // The deprecated routes take registration ids in a JSON array.
        let (_, regs) = app
            .call(
                Method::GET,
                &registrations("?device.id=tablet"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        let tablet = regs["result"][0]["id"].as_str().unwrap().to_owned();
        let deprecated = |path: &str, body: Value| {
            Auth::Token("zt-writer")
                .apply(app.request(Method::POST, &format!("/client/v4/accounts/{ACCOUNT}/devices/{path}")))
                .body(body.to_string())
                .send()
        };
        let many: Vec<String> = (0..10_000).map(|i| format!("r{i}")).collect();
        let cases: Vec<(Value, u16, i64, String, &str)> = vec![
            (
                json!({"id": [tablet]}),
                400,
                12006,
                format!("{P}the body must be a JSON array of registration ids"),
                "",
            ),
            (json!([]), 400, 12006, format!("{P}name at least one registration"), ""),
            (
                json!(many),
                400,
                12006,
                format!("{P}at most 1000 ids per request, got 10000"),
                "",
            ),
            (
                json!([tablet, 7]),
                400,
                12006,
                format!("{P}a registration id is a non-empty string"),
                "/1",
            ),
            (
                json!([tablet, tablet]),
                400,
                12006,
                format!("{P}{tablet:?} is named twice"),
                "/1",
            ),
            (
                json!(["tablet", tablet]),
                404,
                12130,
                "access.api.error.not_found: no registration with id \"tablet\" in this account".into(),
                "/0",
            ),
        ];
        for (body, status, code, message, pointer) in cases {
            assert_error(
                deprecated("revoke", body).await.unwrap(),
                status,
                &[(code, &message, Some(pointer))],
            )
            .await;
        }
        let (_, tablet_now) = app
            .call(
                Method::GET,
                &registrations(&format!("/{tablet}")),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(tablet_now["result"]["revoked_at"], Value::Null, "nothing changed");
        let resp = deprecated("revoke", json!([tablet])).await.unwrap();
        let (status, body) = parts(resp).await;
        assert_eq!((status.as_u16(), &body["result"]), (200, &Value::Null), "{body}");
        let (_, tablet_now) = app
            .call(
                Method::GET,
                &registrations(&format!("/{tablet}")),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert!(tablet_now["result"]["revoked_at"].is_string());
        assert_eq!(deprecated("unrevoke", json!([tablet])).await.unwrap().status(), 200);
        let (_, tablet_now) = app
            .call(
                Method::GET,
                &registrations(&format!("/{tablet}")),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(tablet_now["result"]["revoked_at"], Value::Null);
    })
    .await;
}
