//! `seats export` and `seats import` as processes: a SQLite deployment moves to another
//! database (PostgreSQL too, with `SEATS_TEST_POSTGRES_URL`) with two commands, and nothing
//! is lost.

mod common;

use common::*;
use serde_json::json;

/// A SQLite database the demo seed and one PATCH went into, through a real server.
fn used_database(dir: &std::path::Path) -> String {
    let db = dir.join("a.db").display().to_string();
    let server = start(
        &["--database", &db, "--seed", &demo_seed(dir), "--listen", "127.0.0.1:0"],
        &[],
    );
    let (status, body) = server.patch(&json!([{"access_seat": false, "gateway_seat": true, "seat_uid": SEAT}]));
    assert_eq!(status, 200, "{body}");
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");
    db
}

fn demo_seed(dir: &std::path::Path) -> String {
    let path = dir.join("seed.json");
    std::fs::write(&path, seats_store::seed::DEMO_SEED).unwrap();
    path.display().to_string()
}

fn seats_ok(args: &[&str]) -> Output {
    let out = run_with(args, &[], None);
    assert_eq!(out.code, Some(0), "seats {args:?}: {}", out.stderr);
    out
}

#[test]
fn a_database_moves_with_two_commands_and_exports_again_identically() {
    let dir = tempfile::tempdir().unwrap();
    let source = used_database(dir.path());
    let file = dir.path().join("state.jsonl").display().to_string();
    let out = seats_ok(&["export", "--database", &source, "--output", &file]);
    let exported = std::fs::read_to_string(&file).unwrap();
    let lines = exported.lines().count();
    assert_eq!(out.stderr.trim(), format!("exported {lines} records"));
    assert!(!exported.contains(TOKEN), "no secret in an export");

    let target = dir.path().join("b.db").display().to_string();
    let out = seats_ok(&["import", "--database", &target, &file]);
    assert!(out.stderr.contains("(1 accounts, 1 users)"), "{}", out.stderr);
    let again = seats_ok(&["export", "--database", &target]);
    assert_eq!(again.stdout, exported, "the moved database exports the same state");

    // The moved database serves: the token (a hash in the export) still works, and the
    // PATCH made before the move is there (repeating it changes nothing).
    let server = start(&["--database", &target, "--listen", "127.0.0.1:0"], &[]);
    let (status, body) = server.patch(&json!([{"access_seat": false, "gateway_seat": true, "seat_uid": SEAT}]));
    assert_eq!(status, 200, "{body}");
    let before: serde_json::Value = exported
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["record"] == "user")
        .unwrap();
    assert_eq!(body["result"][0]["gateway_seat"], true);
    let updated = seats_types::Timestamp::from_unix_micros(before["updated_at"].as_i64().unwrap()).unwrap();
    assert_eq!(
        body["result"][0]["updated_at"],
        json!(updated),
        "an unchanged seat keeps the time of the change made before the move"
    );
    server.terminate();

    // Only into an empty database.
    let out = run_with(&["import", "--database", &target, &file], &[], None);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "error: conflict: the database already holds data; nothing was imported"
    );
}

#[test]
fn sqlite_moves_to_postgres_and_back() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let create = seats_store::postgres::testing::TestDatabase::create("sqlite_moves_to_postgres");
    let Some(pg) = runtime.block_on(create) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = used_database(dir.path());
    let file = dir.path().join("state.jsonl").display().to_string();
    seats_ok(&["export", "--database", &source, "--output", &file]);
    let url = pg.url();
    seats_ok(&["import", "--database", &url, &file]);
    let from_pg = seats_ok(&["export", "--database", &url]);
    assert_eq!(from_pg.stdout, std::fs::read_to_string(&file).unwrap());
    let back = dir.path().join("back.db").display().to_string();
    let out = run_with(&["import", "--database", &back, "-"], &[], Some(&from_pg.stdout));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn a_bad_file_is_refused_with_its_line_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = used_database(dir.path());
    let good = seats_ok(&["export", "--database", &source]).stdout;
    let mut lines: Vec<&str> = good.lines().collect();
    lines[2] = r#"{"record": "user", "id": 7}"#;
    let bad = lines.join("\n");
    let target = dir.path().join("b.db").display().to_string();
    let out = run_with(&["import", "--database", &target, "-"], &[], Some(&bad));
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with("error: -:3: not an export record: "),
        "{}",
        out.stderr
    );
    // Cut short: every line sound, the end missing.
    let cut = good.lines().take(4).collect::<Vec<_>>().join("\n");
    let out = run_with(&["import", "--database", &target, "-"], &[], Some(&cut));
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "error: conflict: the export is incomplete (it has no end record); nothing was imported"
    );
    // Nothing was stored: the whole export still goes in.
    let out = run_with(&["import", "--database", &target, "-"], &[], Some(&good));
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    let out = run_with(
        &[
            "export",
            "--database",
            &dir.path().join("none.db").display().to_string(),
        ],
        &[],
        None,
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with("error: no SQLite database at "),
        "{}",
        out.stderr
    );
}
