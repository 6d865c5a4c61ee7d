//! The official Cloudflare SDKs, unchanged but for their base URL, edit seats through the
//! demo token and through the email + key pair, and see our errors as their typed errors.
//!
//! - Python: `pip install cloudflare`; the interpreter is `$SEATS_PYTHON` or `python3`.
//! - TypeScript: `npm ci --prefix tests/sdk` (the version is pinned in tests/sdk/package.json).
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
        let python = std::env::var("SEATS_PYTHON").unwrap_or_else(|_| "python3".into());
        if !sdk_available("Python", Command::new(&python).args(["-c", "import cloudflare"])) {
            return;
        }
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
    let python = std::env::var("SEATS_PYTHON").unwrap_or_else(|_| "python3".into());
    if !sdk_available("Python", Command::new(&python).args(["-c", "import cloudflare"])) {
        return;
    }
    let config = seats_server::ServerConfig {
        rate_limit: Some("2/2s".parse().unwrap()),
        ..Default::default()
    };
    let app = spawn_app_with(&test_seed(), config).await;
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
        if !sdk_available(
            "TypeScript",
            Command::new("node")
                .current_dir(sdk_dir())
                .args(["-e", "require('cloudflare')"]),
        ) {
            return;
        }
        let mut cmd = Command::new("node");
        cmd.current_dir(sdk_dir()).arg("ts_edit_seats.cjs");
        run_script(cmd, (false, true)).await;
    })
    .await;
}
