//! `seats edit` end to end against a spawned demo server: output and exit codes.

mod common;

use common::*;
use serde_json::{json, Value};

fn token_env(server: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("CLOUDFLARE_API_TOKEN", TOKEN.to_owned()),
        ("CLOUDFLARE_BASE_URL", format!("{}/client/v4", server.base)),
    ]
}

fn edit(server: &Server, args: &[&str], stdin: Option<&str>) -> Output {
    let env = token_env(server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = vec!["edit", "--account-id", ACCOUNT];
    all.extend_from_slice(args);
    run_with(&all, &env, stdin)
}

#[test]
fn edits_seats_from_flags_as_a_table_and_as_json() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let out = edit(
        &server,
        &["--seat-uid", SEAT, "--access", "false", "--gateway", "true"],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].starts_with("SEAT_UID") && lines[0].contains("ACCESS  GATEWAY  UPDATED_AT"),
        "{}",
        lines[0]
    );
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&cells[..3], [SEAT, "false", "true"]);

    let out = edit(
        &server,
        &["--seat-uid", SEAT, "--access", "true", "--gateway", "false", "--json"],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seats: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(seats[0]["seat_uid"], SEAT);
    assert_eq!(
        (seats[0]["access_seat"].clone(), seats[0]["gateway_seat"].clone()),
        (json!(true), json!(false))
    );
    server.terminate();
}

#[test]
fn reads_the_body_from_a_file_or_stdin_and_credentials_from_a_file() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(
        &body,
        json!([{"access_seat": false, "gateway_seat": false, "seat_uid": SEAT}]).to_string(),
    )
    .unwrap();
    let out = edit(&server, &["--from-file", body.to_str().unwrap(), "--json"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap()[0]["access_seat"],
        false
    );

    let stdin = json!([{"access_seat": true, "gateway_seat": true, "seat_uid": SEAT}]).to_string();
    let out = edit(&server, &["--from-file", "-", "--json"], Some(&stdin));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap()[0]["gateway_seat"],
        true
    );

    // Email + key from a credentials file, nothing in the environment.
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!(
            "# seats\nCLOUDFLARE_EMAIL=user@example.com\nexport CLOUDFLARE_API_KEY=\"144c9defac04969c7bfad8efaa8ea194\"\nCLOUDFLARE_BASE_URL={}/client/v4\n",
            server.base
        ),
    )
    .unwrap();
    let out = run_with(
        &[
            "edit",
            "--account-id",
            ACCOUNT,
            "--credentials-file",
            creds.to_str().unwrap(),
            "--seat-uid",
            SEAT,
            "--access",
            "false",
            "--gateway",
            "true",
        ],
        &[],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains(SEAT));
    server.terminate();
}

#[test]
fn api_errors_exit_3_with_code_and_message_on_stderr() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let out = edit(
        &server,
        &["--seat-uid", "no-such-seat", "--access", "true", "--gateway", "true"],
        None,
    );
    assert_eq!(out.code, Some(3));
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr.trim(),
        format!(
            "error: PATCH /accounts/{ACCOUNT}/access/seats: 404 Not Found: 12130 access.api.error.not_found: \
             no seat with seat_uid \"no-such-seat\" in this account (at \"/0/seat_uid\")"
        )
    );

    let base = format!("{}/client/v4", server.base);
    let out = run_with(
        &[
            "edit",
            "--account-id",
            ACCOUNT,
            "--seat-uid",
            SEAT,
            "--access",
            "true",
            "--gateway",
            "true",
        ],
        &[("CLOUDFLARE_API_TOKEN", "wrong-token"), ("CLOUDFLARE_BASE_URL", &base)],
        None,
    );
    assert_eq!(out.code, Some(3));
    assert_eq!(
        out.stderr.trim(),
        format!("error: PATCH /accounts/{ACCOUNT}/access/seats: 403 Forbidden: 9109 Invalid access token")
    );
    server.terminate();
}

#[test]
fn usage_errors_exit_2_before_any_request() {
    // No server at all: a usage error must not need one.
    let bad = [
        (vec!["edit", "--account-id", ACCOUNT], "name at least one seat"),
        (
            vec!["edit", "--account-id", ACCOUNT, "--seat-uid", SEAT, "--access", "true"],
            "each --seat-uid needs one --access and one --gateway",
        ),
        (
            vec![
                "edit",
                "--account-id",
                ACCOUNT,
                "--seat-uid",
                SEAT,
                "--access",
                "maybe",
                "--gateway",
                "true",
            ],
            "invalid value 'maybe'",
        ),
        (
            vec![
                "edit",
                "--account-id",
                ACCOUNT,
                "--seat-uid",
                SEAT,
                "--from-file",
                "x.json",
            ],
            "cannot be used with",
        ),
        (
            vec!["edit", "--seat-uid", SEAT, "--access", "true", "--gateway", "true"],
            "--account-id",
        ),
    ];
    for (args, expected) in bad {
        let out = run_with(&args, &[("CLOUDFLARE_API_TOKEN", TOKEN)], None);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    // No credentials anywhere.
    let out = run_with(
        &[
            "edit",
            "--account-id",
            ACCOUNT,
            "--seat-uid",
            SEAT,
            "--access",
            "true",
            "--gateway",
            "true",
        ],
        &[],
        None,
    );
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("no credentials"), "{}", out.stderr);
    // A body file that is not the expected array.
    let out = run_with(
        &["edit", "--account-id", ACCOUNT, "--from-file", "-"],
        &[("CLOUDFLARE_API_TOKEN", TOKEN)],
        Some("{\"seat_uid\": 1}"),
    );
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("stdin: expected a JSON array"), "{}", out.stderr);
}

#[test]
fn connection_errors_exit_4() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{addr}/client/v4");
    let out = run_with(
        &[
            "edit",
            "--account-id",
            ACCOUNT,
            "--seat-uid",
            SEAT,
            "--access",
            "true",
            "--gateway",
            "true",
            "--max-retries",
            "0",
            "--base-url",
            &base,
        ],
        &[("CLOUDFLARE_API_TOKEN", TOKEN)],
        None,
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("PATCH /accounts/{ACCOUNT}/access/seats: connection error")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(TOKEN));
}

#[test]
fn the_default_base_url_is_the_local_server() {
    // Only meaningful when nothing listens on the default port; a developer's server may.
    if std::net::TcpListener::bind("127.0.0.1:8788").is_err() {
        eprintln!("SKIPPED the_default_base_url_is_the_local_server: 127.0.0.1:8788 is in use");
        return;
    }
    let out = run_with(
        &[
            "edit",
            "--account-id",
            ACCOUNT,
            "--seat-uid",
            SEAT,
            "--access",
            "true",
            "--gateway",
            "true",
            "--max-retries",
            "0",
        ],
        &[("CLOUDFLARE_API_TOKEN", TOKEN)],
        None,
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr
            .trim_end()
            .ends_with("(base URL http://127.0.0.1:8788/client/v4)"),
        "{}",
        out.stderr
    );
}
