//! The official Python SDK (`pip install cloudflare`), unchanged but for its base URL, edits
//! seats through the demo token and through the email + key pair.
//!
//! The interpreter is `$SEATS_PYTHON` or `python3`. Without the `cloudflare` package the test
//! skips, saying so, unless `SEATS_REQUIRE_SDK_TESTS=1` (set by `.ci/run`, which installs it).

use std::process::Command;

use seats_store::Store;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_edits_seats() {
    let python = std::env::var("SEATS_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_sdk = Command::new(&python)
        .args(["-c", "import cloudflare"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_sdk {
        assert!(
            std::env::var("SEATS_REQUIRE_SDK_TESTS").as_deref() != Ok("1"),
            "SEATS_REQUIRE_SDK_TESTS=1 but `{python}` cannot import cloudflare"
        );
        eprintln!("SKIPPED official_python_sdk_edits_seats: `{python}` cannot import cloudflare (pip install cloudflare)");
        return;
    }
    let app = spawn_app(&test_seed()).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/sdk/python_edit_seats.py"
    );
    let base_url = app.url("/client/v4");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("SEATS_BASE_URL", base_url)
            .env("SEATS_ACCOUNT_ID", ACCOUNT)
            .env("SEATS_TOKEN", TOKEN)
            .env("SEATS_EMAIL", EMAIL)
            .env("SEATS_KEY", KEY)
            .env("SEATS_SEAT_UID", ALICE_SEAT)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python SDK script failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("token: ok") && stdout.contains("key: ok") && stdout.contains("errors: ok"),
        "{stdout}"
    );

    // The SDK's edits landed in the database.
    let alice = app.user(ALICE_SEAT).await;
    assert_eq!((alice.access_seat, alice.gateway_seat), (true, false));
    let (events, _) = app.store.audit_events(ACCOUNT, 1, 10).await.unwrap();
    assert_eq!(events[0].actor, seats_store::Actor::Member(EMAIL.into()));
    assert_eq!(events[1].actor, seats_store::Actor::Token("demo".into()));
}
