//! `seats admin faults` and `seats admin journal` against a spawned server, as a user's test
//! script would drive them.

mod common;

use common::*;
use serde_json::Value;

const KEY: &str = "cli-operator-key-0123456789abcdef";

fn admin(server: &Server, args: &[&str]) -> Output {
    let mut all = vec!["admin", "--url", &server.base];
    all.extend_from_slice(args);
    run_with(&all, &[("SEATS_OPERATOR_KEY", KEY)], None)
}

#[test]
fn a_fault_from_the_command_line_shows_in_the_journal() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[("SEATS_OPERATOR_KEY", KEY)]);
    let out = admin(
        &server,
        &[
            "faults",
            "add",
            "--operation-id",
            "zero-trust-seats-update-a-user-seat",
            "--status",
            "503",
            "--times",
            "1",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "fault-1");

    let base = format!("{}/client/v4", server.base);
    let edit = |retries: &str| {
        run_with(
            &[
                "edit",
                "--account-id",
                ACCOUNT,
                "--seat-uid",
                SEAT,
                "--access",
                "false",
                "--gateway",
                "false",
                "--max-retries",
                retries,
            ],
            &[("CLOUDFLARE_API_TOKEN", TOKEN), ("CLOUDFLARE_BASE_URL", &base)],
            None,
        )
    };
    let out = edit("0");
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("503 Service Unavailable: 10003 Service unavailable"),
        "{}",
        out.stderr
    );
    assert_eq!(edit("0").code, Some(0), "the rule fired once");

    let out = admin(
        &server,
        &[
            "journal",
            "--operation-id",
            "zero-trust-seats-update-a-user-seat",
            "--json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let entries: Value = serde_json::from_str(&out.stdout).unwrap();
    let seen: Vec<(u64, Option<&str>)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["status"].as_u64().unwrap(), e["fault"].as_str()))
        .collect();
    assert_eq!(seen, [(503, Some("fault-1")), (200, None)]);

    let out = admin(&server, &["faults", "list"]);
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("fault-1"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let last_two: Vec<&str> = row.split_whitespace().rev().take(2).collect();
    assert_eq!(last_two, ["1", "0"], "fired once, none remaining: {row}");
    let out = admin(&server, &["journal", "--clear"]);
    assert_eq!(out.stdout.trim(), "cleared 2 entries", "{}", out.stderr);
    let out = admin(&server, &["faults", "delete", "fault-9"]);
    assert_eq!(out.code, Some(3));
    assert!(out.stderr.contains("12130"), "{}", out.stderr);
    let out = admin(&server, &["faults", "add", "--reset", "--hang"]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("choose one of status, reset and hang"),
        "{}",
        out.stderr
    );
}

#[test]
fn snapshots_and_reset_from_the_command_line() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[("SEATS_OPERATOR_KEY", KEY)]);
    let base = format!("{}/client/v4", server.base);
    let api = |args: &[&str]| {
        run_with(
            args,
            &[("CLOUDFLARE_API_TOKEN", TOKEN), ("CLOUDFLARE_BASE_URL", &base)],
            None,
        )
    };
    let alice_seat = || {
        let out = api(&[
            "users",
            "--account-id",
            ACCOUNT,
            "list",
            "--email",
            "alice@example.com",
            "--json",
        ]);
        let users: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
        users[0]["access_seat"].as_bool().unwrap()
    };
    let out = admin(&server, &["snapshots", "take", "start"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("start ("), "{}", out.stdout);

    let out = api(&[
        "edit",
        "--account-id",
        ACCOUNT,
        "--seat-uid",
        SEAT,
        "--access",
        "false",
        "--gateway",
        "false",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!alice_seat());
    let out = admin(&server, &["snapshots", "restore", "start"]);
    assert_eq!(
        out.stdout.trim(),
        "restored start: 1 accounts, 1 users",
        "{}",
        out.stderr
    );
    assert!(alice_seat());

    api(&[
        "edit",
        "--account-id",
        ACCOUNT,
        "--seat-uid",
        SEAT,
        "--access",
        "false",
        "--gateway",
        "false",
    ]);
    let out = admin(&server, &["reset"]);
    assert_eq!(out.stdout.trim(), "reset: 1 accounts, 1 users", "{}", out.stderr);
    assert!(alice_seat(), "the demo seed again");
    let out = admin(&server, &["snapshots", "list", "--json"]);
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "start", "a reset keeps snapshots");
    let out = admin(&server, &["snapshots", "restore", "nope"]);
    assert_eq!(out.code, Some(3));
    assert!(out.stderr.contains("12130"), "{}", out.stderr);
}

/// The first reset puts back the state the seed the server started with left, as every later
/// one does, rather than loading the seed again (docs/testing.md): the ids the server gave the
/// seed's users at start-up hold across it. A seed file edited since is loaded anew.
#[test]
fn the_first_reset_puts_back_what_the_start_up_seed_left() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    let args = demo_seed_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = start(&args, &[("SEATS_OPERATOR_KEY", KEY)]);
    let base = format!("{}/client/v4", server.base);
    let users = || {
        let out = run_with(
            &["users", "--account-id", ACCOUNT, "list", "--json"],
            &[("CLOUDFLARE_API_TOKEN", TOKEN), ("CLOUDFLARE_BASE_URL", &base)],
            None,
        );
        let users: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
        users
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["email"].as_str().unwrap().to_owned(),
                    u["id"].as_str().unwrap().to_owned(),
                    u["access_seat"].as_bool().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let seeded = users();
    assert_eq!(seeded.len(), 1);
    assert!(seeded[0].2, "{seeded:?}");
    let (status, _) =
        server.patch(&serde_json::json!([{"access_seat": false, "gateway_seat": false, "seat_uid": SEAT}]));
    assert_eq!(status, 200);
    assert!(!users()[0].2);

    let out = admin(&server, &["reset"]);
    assert_eq!(out.stdout.trim(), "reset: 1 accounts, 1 users", "{}", out.stderr);
    assert_eq!(users(), seeded, "the start-up state, ids and all");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["seats.db", "seats.db-shm", "seats.db-wal", "seed.json"]);

    // An edited seed: loaded again, so its users are new.
    let edited = seats_store::seed::DEMO_SEED.replace(
        r#""access_seat": true, "gateway_seat": true}"#,
        r#""access_seat": true, "gateway_seat": true}, {"email": "bob@example.com", "seat_uid": "bob"}"#,
    );
    assert_ne!(edited, seats_store::seed::DEMO_SEED);
    std::fs::write(&seed, edited).unwrap();
    let out = admin(&server, &["reset"]);
    assert_eq!(out.stdout.trim(), "reset: 1 accounts, 2 users", "{}", out.stderr);
    let after = users();
    let alice = after.iter().find(|u| u.0 == "alice@example.com").unwrap();
    assert_ne!(alice.1, seeded[0].1, "loaded anew: {after:?}");
}
