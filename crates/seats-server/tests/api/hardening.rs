//! The worst request each endpoint family (the Cloudflare API, SCIM, the operator API, the
//! dashboard) can be sent under the body cap: each is answered with its clear refusal, and
//! `/healthz` answers while they run, so no request holds a runtime worker. A test of
//! bounds, not of speed: the limits below are generous enough for a debug build on a loaded
//! machine, and far under what the unbounded code took (a deeply nested SCIM filter aborted
//! the process; 55,000 SCIM `emails` took 290 s). Speed itself is measured by `seats-bench`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::identity_providers::{scim_provider, seed};

/// The most a worst request may take to be answered here.
const ANSWERED_WITHIN: Duration = Duration::from_secs(5);
/// The most `/healthz` may take while they run.
const HEALTHY_WITHIN: Duration = Duration::from_secs(1);

/// Under 1 MiB, the default body cap.
const BODY_BUDGET: usize = 1024 * 1024 - 1024;

/// One worst request: how to send it, and the status and detail it must get.
struct Worst {
    name: &'static str,
    request: reqwest::RequestBuilder,
    status: u16,
    /// Checks the body (the envelope's code and message, or the SCIM error's detail).
    check: Box<dyn Fn(&str) + Send>,
}

/// Sends every worst request at once, asks `/healthz` all the while, and checks each answer.
async fn run(app: &TestApp, worst: Vec<Worst>) {
    let health = app.url("/healthz");
    let started = Instant::now();
    let mut running = Vec::new();
    for w in worst {
        running.push(tokio::spawn(async move {
            let sent = Instant::now();
            let resp = w
                .request
                .send()
                .await
                .unwrap_or_else(|e| panic!("{}: {}", w.name, e.without_url()));
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            let took = sent.elapsed();
            let start: String = body.chars().take(300).collect();
            assert_eq!(status, w.status, "{}: {start}", w.name);
            (w.check)(&body);
            assert!(took < ANSWERED_WITHIN, "{} took {took:?}", w.name);
            eprintln!("{}: answered {status} in {took:?}", w.name);
            took
        }));
    }
    let client = reqwest::Client::new();
    let mut asked = 0;
    while running.iter().any(|r| !r.is_finished()) || asked == 0 {
        let sent = Instant::now();
        let resp = tokio::time::timeout(HEALTHY_WITHIN, client.get(&health).send())
            .await
            .unwrap_or_else(|_| panic!("/healthz did not answer within {HEALTHY_WITHIN:?}"))
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(sent.elapsed() < HEALTHY_WITHIN);
        asked += 1;
        assert!(started.elapsed() < ANSWERED_WITHIN * 2, "still running");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for r in running {
        r.await.unwrap();
    }
    eprintln!("/healthz answered {asked} times meanwhile");
}

fn envelope_error(code: i64, message: &'static str) -> Box<dyn Fn(&str) + Send> {
    Box::new(move |body| {
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["success"], false, "{body}");
        assert_eq!(v["errors"][0]["code"], code, "{body}");
        let got = v["errors"][0]["message"].as_str().unwrap();
        assert!(got.starts_with(message), "{got:.300} starts with {message}");
    })
}

fn scim_error(scim_type: &'static str, detail: &'static str) -> Box<dyn Fn(&str) + Send> {
    Box::new(move |body| {
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{body}");
        assert_eq!(v["scimType"], scim_type, "{body}");
        let got = v["detail"].as_str().unwrap();
        assert!(got.starts_with(detail), "{got:.300} starts with {detail}");
    })
}

/// JSON nested `depth` arrays deep.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worst_api_requests_are_refused_while_the_server_stays_healthy() {
    let app = spawn_app(&test_seed()).await;
    let seats = app.url(&TestApp::seats_path(ACCOUNT));
    let auth = |r: reqwest::RequestBuilder| Auth::Token(TOKEN).apply(r);
    // The most items a PATCH takes, each naming a seat that does not exist.
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({"seat_uid": format!("00000000-0000-4000-8000-{i:012}"), "access_seat": false, "gateway_seat": false}))
        .collect();
    // Past it, as many as fit under the cap.
    let item = json!({"seat_uid": "00000000-0000-4000-8000-000000000000", "access_seat": false, "gateway_seat": false})
        .to_string();
    let many = format!("[{}]", vec![item.as_str(); BODY_BUDGET / (item.len() + 1)].join(","));
    let worst = vec![
        Worst {
            name: "1000 unknown seats",
            request: auth(app.client.patch(&seats)).body(Value::Array(items).to_string()),
            status: 404,
            check: envelope_error(12130, ""),
        },
        Worst {
            name: "items past the batch cap, up to the body cap",
            request: auth(app.client.patch(&seats)).body(many),
            status: 400,
            check: envelope_error(12006, ""),
        },
        Worst {
            name: "JSON nested to the body cap",
            request: auth(app.client.patch(&seats)).body(nested(BODY_BUDGET / 2)),
            status: 400,
            check: envelope_error(6007, "Malformed JSON in request body"),
        },
        Worst {
            name: "a search of 255 characters, each a LIKE wildcard",
            request: auth(app.client.get(app.url(&format!(
                "/client/v4/accounts/{ACCOUNT}/access/users?search={}",
                "%25_".repeat(127)
            )))),
            status: 200,
            check: Box::new(|body| assert!(body.contains("\"success\":true"), "{body:.300}")),
        },
        Worst {
            name: "a search past its bound, as long as a request line may be",
            request: auth(app.client.get(app.url(&format!(
                "/client/v4/accounts/{ACCOUNT}/access/users?search={}",
                "a".repeat(60_000)
            )))),
            status: 400,
            check: envelope_error(
                12006,
                "access.api.error.invalid_request: search must be at most 255 characters",
            ),
        },
    ];
    run(&app, worst).await;
    assert_eq!(app.audit_count(ACCOUNT).await, 0, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worst_scim_requests_are_refused_while_the_server_stays_healthy() {
    let app = spawn_app(&seed()).await;
    let (id, secret) = scim_provider(&app, false, false).await;
    let base = app.url(&format!("/populations/{id}/scim/v2"));
    let created: Value = app
        .client
        .post(format!("{base}/Users"))
        .bearer_auth(&secret)
        .header("content-type", "application/scim+json")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@example.com"}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = format!("{base}/Users/{}", created["id"].as_str().unwrap());
    let scim = |r: reqwest::RequestBuilder| r.bearer_auth(&secret).header("content-type", "application/scim+json");
    let patch = |ops: Vec<Value>| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}).to_string()
    };
    // As many distinct emails as fit under the cap, in one operation, then spread over 1000.
    let email = |i: usize| json!({"value": format!("u{i:06}@example.com")});
    let per_value = email(0).to_string().len() + 1;
    let fit = BODY_BUDGET / per_value;
    let one_op = patch(vec![
        json!({"op": "add", "path": "emails", "value": (0..fit).map(email).collect::<Vec<_>>()}),
    ]);
    let spread = patch(
        (0..1000)
            .map(|op| {
                let values: Vec<Value> = (0..(BODY_BUDGET / 1000 - 64) / per_value)
                    .map(|i| email(op * 1000 + i))
                    .collect();
                json!({"op": "add", "path": "emails", "value": values})
            })
            .collect(),
    );
    // Filters as long as a URL may be (64 KiB in HTTP clients, once percent-encoded).
    let deep_filter = format!("{}value eq \"x\"{}", "emails[".repeat(4_000), "]".repeat(4_000));
    let long_filter = vec!["userName eq \"x\""; 2_000].join(" and ");
    let worst = vec![
        Worst {
            name: "emails past the per-operation cap",
            request: scim(app.client.patch(&user)).body(one_op),
            status: 400,
            check: scim_error("invalidValue", "at most 1000 values in one operation"),
        },
        Worst {
            name: "1000 operations adding emails, up to the body cap",
            request: scim(app.client.patch(&user)).body(spread),
            status: 400,
            check: scim_error("invalidValue", "this PATCH would visit more than 1000000 elements"),
        },
        Worst {
            name: "1000 operations adding one email each",
            request: scim(app.client.patch(&user)).body(patch(
                (0..1000)
                    .map(|i| json!({"op": "add", "path": "emails", "value": [email(i)]}))
                    .collect(),
            )),
            status: 400,
            check: scim_error("invalidValue", "emails: at most 100 values (1000 given)"),
        },
        Worst {
            name: "a filter nested 4,000 deep",
            request: scim(app.client.get(format!("{base}/Users"))).query(&[("filter", deep_filter)]),
            status: 400,
            check: scim_error("invalidFilter", ""),
        },
        Worst {
            name: "a filter of 2,000 terms",
            request: scim(app.client.get(format!("{base}/Users"))).query(&[("filter", long_filter)]),
            status: 200,
            check: Box::new(|_| {}),
        },
    ];
    run(&app, worst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worst_operator_requests_are_refused_while_the_server_stays_healthy() {
    let app = TestApp::builder().seed(&test_seed()).operator().start().await;
    let op = |method: Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/_seats/v1{path}")))
            .bearer_auth(OPERATOR_KEY)
    };
    // A token with as many policies as fit under the cap: linear work, and taken.
    let policy = json!({"effect": "allow", "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"},
        "permission_groups": [{"name": "Zero Trust: Seats Write"}]});
    let policies = vec![policy.clone(); BODY_BUDGET / (policy.to_string().len() + 1)];
    let login = json!({"email": "x@example.com", "via": "access", "name": "n".repeat(BODY_BUDGET - 100)});
    let worst = vec![
        Worst {
            name: "a token with policies up to the body cap",
            request: op(Method::POST, "/tokens").body(json!({"name": "t", "policies": policies}).to_string()),
            status: 201,
            check: Box::new(|body| assert!(body.starts_with("{\"success\":true"), "{body:.300}")),
        },
        Worst {
            name: "a login with a name up to the body cap",
            request: op(Method::POST, &format!("/accounts/{ACCOUNT}/logins")).body(login.to_string()),
            status: 400,
            check: envelope_error(12006, ""),
        },
        Worst {
            name: "JSON nested to the body cap",
            request: op(Method::POST, "/accounts").body(nested(BODY_BUDGET / 2)),
            status: 400,
            check: envelope_error(6007, "Malformed JSON in request body"),
        },
    ];
    run(&app, worst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worst_dashboard_requests_are_refused_while_the_server_stays_healthy() {
    let app = spawn_app(&test_seed()).await;
    let sign_in = app.url("/dashboard/sign-in");
    let session = signed_in(&app).await;
    // A form of as many fields as fit under the cap, and one past it.
    let fields = "kind=token&".repeat(BODY_BUDGET / 11);
    let past = format!("token={}", "a".repeat(2 * 1024 * 1024));
    let form = |body: String| {
        app.client
            .post(&sign_in)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let worst = vec![
        Worst {
            name: "a form of repeated fields up to the cap",
            request: form(fields),
            status: 400,
            check: Box::new(|page| assert!(page.contains("Error 12006"), "{page}")),
        },
        Worst {
            name: "a form past the cap",
            request: form(past),
            status: 413,
            check: Box::new(|page| assert!(page.contains("Error 12007"), "{page}")),
        },
        Worst {
            name: "a users search as long as a request line may be",
            request: app
                .client
                .get(app.url(&format!(
                    "/dashboard/accounts/{ACCOUNT}/users?search={}",
                    "a".repeat(60_000)
                )))
                .header("cookie", &session),
            status: 400,
            check: Box::new(|page| assert!(page.contains("Error 12006"), "{page:.300}")),
        },
    ];
    run(&app, worst).await;
}

/// The `Cookie` header of a dashboard session of the demo token, signed in through the form.
async fn signed_in(app: &TestApp) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = post_sign_in(&client, app, &[("kind", "token"), ("token", TOKEN)]).await;
    assert_eq!(signed.status(), 303);
    set_cookie(&signed, "seats_dashboard").unwrap()
}
