//! The official Cloudflare SDKs, unchanged but for their base URL, edit seats through the
//! demo token and through the email + key pair, and see our errors as their typed errors.
//!
//! - Python: `pip install cloudflare`; the interpreter is `$SEATS_PYTHON` or `python3`.
//! - TypeScript: `npm ci --prefix tests/sdk` (the version is pinned in tests/sdk/package.json).
//! - scim2-tester (an independent SCIM checker, not an SDK, run the same way):
//!   `pip install -r tests/scim/requirements.txt`.
//!
//! Without an SDK installed its test skips, saying so, unless `SEATS_REQUIRE_SDK_TESTS=1`
//! (set by `.ci/run`, which installs both).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk")
}

/// Whether `probe` succeeds; if not, the test skips — or fails when SDK tests are required.
fn sdk_available(name: &str, probe: &mut Command) -> bool {
    if probe.output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        std::env::var("SEATS_REQUIRE_SDK_TESTS").as_deref() != Ok("1"),
        "SEATS_REQUIRE_SDK_TESTS=1 but the {name} SDK is not installed"
    );
    eprintln!("SKIPPED: the official {name} SDK is not installed (see crates/seats-server/tests/api/official_sdks.rs)");
    false
}

/// The interpreter that has the Python SDK (`$SEATS_PYTHON` or `python3`), or `None` when
/// the test skips (see [`sdk_available`]).
fn python_sdk() -> Option<String> {
    let python = std::env::var("SEATS_PYTHON").unwrap_or_else(|_| "python3".into());
    sdk_available("Python", Command::new(&python).args(["-c", "import cloudflare"])).then_some(python)
}

/// `node SCRIPT` in tests/sdk, or `None` when the TypeScript SDK is not installed and the
/// test skips.
fn node_script(script: &str) -> Option<Command> {
    let mut probe = Command::new("node");
    probe.current_dir(sdk_dir()).args(["-e", "require('cloudflare')"]);
    if !sdk_available("TypeScript", &mut probe) {
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.current_dir(sdk_dir()).arg(script);
    Some(cmd)
}

/// Runs an SDK script to its end; it must succeed. Returns what it printed.
async fn run_sdk(mut cmd: Command) -> String {
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "SDK script failed:\n{stdout}\n{stderr}");
    stdout
}

/// Runs an SDK script against a fresh server and checks what it did to the database.
async fn run_script(mut cmd: Command, expect_final: (bool, bool)) {
    let app = spawn_app(&test_seed()).await;
    cmd.env("SEATS_BASE_URL", app.url("/client/v4"))
        .env("SEATS_ACCOUNT_ID", ACCOUNT)
        .env("SEATS_TOKEN", TOKEN)
        .env("SEATS_EMAIL", EMAIL)
        .env("SEATS_KEY", KEY)
        .env("SEATS_SEAT_UID", ALICE_SEAT);
    let stdout = run_sdk(cmd).await;
    for step in ["token: ok", "key: ok", "errors: ok"] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    // The SDK's edits landed in the database, made by the credentials it used.
    let alice = app.user(ALICE_SEAT).await;
    assert_eq!((alice.access_seat, alice.gateway_seat), expect_final);
    let (events, _) = app.store.audit_events(ACCOUNT, 1, 10).await.unwrap();
    assert_eq!(events[0].actor, seats_store::Actor::Member(EMAIL.into()));
    assert_eq!(events[1].actor, seats_store::Actor::Token("demo".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_edits_seats() {
    on_each_backend(|| async {
        let Some(python) = python_sdk() else { return };
        let mut cmd = Command::new(python);
        cmd.arg(sdk_dir().join("python_edit_seats.py"));
        run_script(cmd, (true, false)).await;
    })
    .await;
}

/// Four edits against a budget of two per two seconds: the SDK gets a 429 with
/// `Retry-After`, waits and succeeds, as its users' back-off code would have it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_waits_out_the_rate_limit() {
    let Some(python) = python_sdk() else { return };
    let config = seats_server::ServerConfig {
        rate_limit: Some("2/2s".parse().unwrap()),
        ..Default::default()
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let mut cmd = Command::new(python);
    cmd.arg(sdk_dir().join("python_rate_limit.py"))
        .env("SEATS_BASE_URL", app.url("/client/v4"))
        .env("SEATS_ACCOUNT_ID", ACCOUNT)
        .env("SEATS_TOKEN", TOKEN);
    let stdout = run_sdk(cmd).await;
    let elapsed: f64 = stdout
        .trim()
        .strip_prefix("rate limit: ok after ")
        .and_then(|s| s.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("unexpected output: {stdout}"))
        .parse()
        .unwrap();
    // The third edit waited for the window to end (Retry-After: 2 rounds up what was left).
    assert!(elapsed >= 1.0, "the SDK did not wait: {elapsed} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_typescript_sdk_edits_seats() {
    on_each_backend(|| async {
        let Some(cmd) = node_script("ts_edit_seats.cjs") else {
            return;
        };
        run_script(cmd, (false, true)).await;
    })
    .await;
}

/// The Python SDK manages identity providers; between its steps the test provisions Alice
/// over SCIM with the secret the SDK was shown and deactivates her, which frees her seat, and
/// the SDK then lists her as a SCIM user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_manages_identity_providers() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    on_each_backend(|| async {
        let Some(python) = python_sdk() else { return };
        let app = spawn_app(&test_seed()).await;
        let mut child = Command::new(python)
            .arg(sdk_dir().join("python_identity_providers.py"))
            .env("SEATS_BASE_URL", app.url("/client/v4"))
            .env("SEATS_ACCOUNT_ID", ACCOUNT)
            .env("SEATS_EMAIL", EMAIL)
            .env("SEATS_KEY", KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            (line, stdout)
        });
        let (line, mut stdout) = first.await.unwrap();
        let Some([id, secret]) = line
            .trim()
            .strip_prefix("idp: ok ")
            .map(|rest| rest.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .and_then(|v| <[String; 2]>::try_from(v).ok())
        else {
            let output = child.wait_with_output().unwrap();
            panic!("SDK script failed: {line}\n{}", String::from_utf8_lossy(&output.stderr));
        };

        let scim = app.url(&format!("/populations/{id}/scim/v2/Users"));
        let created: serde_json::Value = app
            .client
            .post(&scim)
            .bearer_auth(&secret)
            .json(&serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice", "externalId": "00u1", "emails": [{"value": "alice@example.com", "primary": true}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resp = app
            .client
            .patch(format!("{scim}/{}", created["id"].as_str().unwrap()))
            .bearer_auth(&secret)
            .json(&serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let alice = app.user(ALICE_SEAT).await;
        assert_eq!((alice.access_seat, alice.gateway_seat), (false, false), "seat freed");

        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let rest = tokio::task::spawn_blocking(move || {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
            let output = child.wait_with_output().unwrap();
            (rest, output)
        });
        let (rest, output) = rest.await.unwrap();
        assert!(
            output.status.success(),
            "SDK script failed:\n{rest}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(rest.contains("scim users: ok") && rest.contains("delete: ok"), "{rest}");
    })
    .await;
}

/// scim2-tester, an independent SCIM 2.0 conformance checker (pinned in
/// tests/scim/requirements.txt), finds no error (no broken MUST of RFC 7643/7644) in a
/// provider's SCIM endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_finds_no_error() {
    on_each_backend(|| async {
        let python = std::env::var("SEATS_PYTHON").unwrap_or_else(|_| "python3".into());
        if !sdk_available(
            "scim2-tester",
            Command::new(&python).args(["-c", "import scim2_tester, httpx2"]),
        ) {
            return;
        }
        let app = spawn_app(&test_seed()).await;
        let (status, body) = app
            .call(
                reqwest::Method::POST,
                &format!("/accounts/{ACCOUNT}/access/identity_providers"),
                Auth::Key(EMAIL, KEY),
                Some(serde_json::json!({"name": "Okta", "type": "okta", "config": {},
                    "scim_config": {"enabled": true, "user_deprovision": true, "seat_deprovision": true}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let scim = &body["result"]["scim_config"];
        let mut cmd = Command::new(python);
        cmd.arg(sdk_dir().join("../scim/check.py"))
            .arg(scim["scim_base_url"].as_str().unwrap())
            .arg(scim["secret"].as_str().unwrap());
        let stdout = run_sdk(cmd).await;
        let summary = stdout.lines().last().unwrap_or_default();
        assert!(
            summary.starts_with("scim2-tester: ") && !summary.contains("ERROR"),
            "{stdout}"
        );
        assert!(summary.contains("SUCCESS"), "{stdout}");
    })
    .await;
}

/// The official Python SDK, with its default retries (two), retries through a one-shot 429
/// and succeeds, and gives up on a persistent 503 after three attempts, as the journal shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_retries_through_faults() {
    let Some(python) = python_sdk() else { return };
    let config = seats_server::ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new(OPERATOR_KEY).hash()),
        ..Default::default()
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let script = |mode: &str| {
        let mut cmd = Command::new(&python);
        cmd.arg(sdk_dir().join("python_faults.py"))
            .arg(mode)
            .env("SEATS_BASE_URL", app.url("/client/v4"))
            .env("SEATS_ACCOUNT_ID", ACCOUNT)
            .env("SEATS_TOKEN", TOKEN)
            .env("SEATS_SEAT_UID", ALICE_SEAT);
        cmd
    };
    let rule = |action: serde_json::Value, times: Option<u64>| {
        let mut rule =
            serde_json::json!({"match": {"operation_id": "zero-trust-seats-update-a-user-seat"}, "action": action});
        if let Some(n) = times {
            rule["times"] = n.into();
        }
        rule
    };
    let statuses = |entries: &serde_json::Value| -> Vec<u64> {
        entries["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_u64().unwrap())
            .collect()
    };

    let (status, _) = app
        .operator(
            reqwest::Method::POST,
            "/faults",
            Some(rule(serde_json::json!({"status": 429}), Some(1))),
        )
        .await;
    assert_eq!(status, 201);
    assert!(run_sdk(script("retries-429")).await.contains("retries-429: ok"));
    let (_, entries) = app.operator(reqwest::Method::GET, "/journal", None).await;
    assert_eq!(statuses(&entries), [429, 200]);

    app.operator(reqwest::Method::DELETE, "/journal", None).await;
    app.operator(
        reqwest::Method::POST,
        "/faults",
        Some(rule(serde_json::json!({"status": 503}), None)),
    )
    .await;
    assert!(run_sdk(script("gives-up-503")).await.contains("gives-up-503: ok"));
    let (_, entries) = app.operator(reqwest::Method::GET, "/journal", None).await;
    assert_eq!(statuses(&entries), [503, 503, 503], "one try and two retries");
}

/// Runs a revoke script against a server where Alice holds two seats, sessions and devices:
/// afterwards her sessions and devices are gone and her seats are not.
async fn run_revoke_script(mut cmd: Command) {
    let app = TestApp::builder().seed(&test_seed()).operator().start().await;
    let (status, body) = app
        .operator(
            reqwest::Method::POST,
            &format!("/accounts/{ACCOUNT}/logins"),
            Some(serde_json::json!({"email": "alice@example.com", "via": "access"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let before = app.user(ALICE_SEAT).await;
    assert!(
        before.active_session_count >= 2 && before.active_device_count == 2,
        "{before:?}"
    );
    cmd.env("SEATS_BASE_URL", app.url("/client/v4"))
        .env("SEATS_ACCOUNT_ID", ACCOUNT)
        .env("SEATS_EMAIL", EMAIL)
        .env("SEATS_KEY", KEY)
        .env("SEATS_USER_EMAIL", "alice@example.com");
    let stdout = run_sdk(cmd).await;
    for step in ["sessions: ok", "devices: ok", "errors: ok"] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    let after = app.user(ALICE_SEAT).await;
    assert_eq!((after.active_session_count, after.active_device_count), (0, 0));
    assert!(after.access_seat && after.gateway_seat, "the seats stay");
    let (events, _) = app.store.audit_events(ACCOUNT, 1, 2).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.action.as_str(), e.after.clone()))
            .collect::<Vec<_>>(),
        [
            (
                "user.revoke",
                Some(serde_json::json!({"sessions_ended": 0, "devices_revoked": 2}))
            ),
            (
                "user.revoke",
                Some(serde_json::json!({"sessions_ended": before.active_session_count, "devices_revoked": 0}))
            ),
        ]
    );
    assert_eq!(events[0].actor, seats_store::Actor::Member(EMAIL.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_revokes_a_user() {
    on_each_backend(|| async {
        let Some(python) = python_sdk() else { return };
        let mut cmd = Command::new(python);
        cmd.arg(sdk_dir().join("python_revoke_user.py"));
        run_revoke_script(cmd).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_typescript_sdk_revokes_a_user() {
    on_each_backend(|| async {
        let Some(cmd) = node_script("ts_revoke_user.cjs") else {
            return;
        };
        run_revoke_script(cmd).await;
    })
    .await;
}

/// A server whose Alice holds 25 registrations, and a token that may manage them.
async fn app_with_registrations() -> TestApp {
    let mut seed = test_seed();
    seed["accounts"][0]["users"][0]["active_device_count"] = serde_json::json!(25);
    seed["tokens"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "zt", "value": "zt-token",
        "policies": [{"effect": "allow", "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"},
                      "permission_groups": [{"name": "Zero Trust Write"}]}]}));
    spawn_app(&seed).await
}

/// Runs a devices script against [`app_with_registrations`]; returns the server after it.
async fn run_devices_script(mut cmd: Command, steps: &[&str]) -> TestApp {
    let app = app_with_registrations().await;
    cmd.env("SEATS_BASE_URL", app.url("/client/v4"))
        .env("SEATS_ACCOUNT_ID", ACCOUNT)
        .env("SEATS_TOKEN", "zt-token")
        .env("SEATS_DEVICES", "25");
    let stdout = run_sdk(cmd).await;
    for step in steps {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    app
}

/// The Python SDK pages through 25 registrations four at a time to the end, revokes,
/// unrevokes and deletes them, pages through the physical devices and revokes one, and calls
/// the deprecated revoke and unrevoke; the database agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_manages_device_registrations() {
    on_each_backend(|| async {
        let Some(python) = python_sdk() else { return };
        let mut cmd = Command::new(python);
        cmd.arg(sdk_dir().join("python_devices.py"));
        let steps = [
            "list: ok",
            "changes: ok",
            "physical: ok",
            "deprecated: ok",
            "errors: ok",
        ];
        let app = run_devices_script(cmd, &steps).await;
        // One revoked, one deleted, one physical device revoked: 22 devices count.
        assert_eq!(app.user(ALICE_SEAT).await.active_device_count, 22);
    })
    .await;
}

/// The TypeScript SDK auto-pages through the registrations and the physical devices and
/// changes them the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_typescript_sdk_manages_device_registrations() {
    on_each_backend(|| async {
        let Some(cmd) = node_script("ts_devices.cjs") else {
            return;
        };
        let app = run_devices_script(cmd, &["list: ok", "changes: ok", "errors: ok"]).await;
        // One revoked, one deleted: 23 devices count.
        assert_eq!(app.user(ALICE_SEAT).await.active_device_count, 23);
    })
    .await;
}
